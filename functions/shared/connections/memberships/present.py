"""Memberships' stored items as the API shows them, to drivers and to admins: the one place that turns
them into views."""

from datetime import datetime

from connections.memberships import views
from connections.memberships.changes import state
from connections.memberships.items import AdminItem, ConnectionItem, MembershipItem, OrganizationItem
from connections.memberships.questions import Question


def connection_for_driver(item: ConnectionItem) -> views.ConnectionForDriver:
    return views.ConnectionForDriver(
        connection_id=item.connection_id,
        name=item.name,
        description=item.description,
        organization=views.OrganizationRef(organization_id=item.organization_id, name=item.organization_name),
        public=item.public,
        questions=[Question.model_validate(q) for q in item.questions],
        approval_mode=item.approval_mode,
        email_domains=list(item.email_domains),
        reverify_days=int(item.reverify_days) if item.reverify_days else None,
    )


def connection_for_admin(item: ConnectionItem) -> views.ConnectionForAdmin:
    return views.ConnectionForAdmin(
        **connection_for_driver(item).model_dump(),
        code=item.code,
        enabled=item.enabled,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def membership_for_driver(
    item: MembershipItem, connection: ConnectionItem | None, now: datetime
) -> views.Membership:
    return views.Membership(
        connection=connection_for_driver(connection) if connection else None,
        connection_id=item.connection_id,
        status=state(item).effective_status(now),
        message=item.message,
        answers=dict(item.answers.as_dict() if hasattr(item.answers, "as_dict") else item.answers),
        requested_at=item.requested_at,
        decided_at=item.decided_at,
        expires_at=item.expires_at,
        verifying_email=item.verify_email,
    )


def membership_for_admin(item: MembershipItem, now: datetime) -> views.MemberRequest:
    return views.MemberRequest(
        driver_id=item.driver_id,
        driver_email=item.driver_email,
        driver_email_verified=item.driver_email_verified,
        connection_id=item.connection_id,
        status=state(item).effective_status(now),
        answers=dict(item.answers.as_dict() if hasattr(item.answers, "as_dict") else item.answers),
        message=item.message,
        requested_at=item.requested_at,
        decided_at=item.decided_at,
        decided_by=item.decided_by,
        expires_at=item.expires_at,
    )


def organization(item: OrganizationItem) -> views.Organization:
    return views.Organization(
        organization_id=item.organization_id, name=item.name, created_at=item.created_at
    )


def admin(item: AdminItem) -> views.Admin:
    return views.Admin(
        email=item.email, added_at=item.added_at, added_by=item.added_by, signed_in_at=item.signed_in_at
    )
