"""Organization admin API: organizations and their admins, connections, and decisions on requests."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit

from connections.memberships import admins, views
from connections.memberships.state_machine import Action, Status
from connections.platform.errors import Forbidden, TooManyRequests
from connections.platform.http import answers, caller, idempotent, lambda_handler, make_resolver, source_ip
from connections.platform.telemetry import metrics
from connections.platform.views import Page

router = Router()
app = make_resolver()

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page.")]
OrganizationId = Annotated[str, Path(max_length=64)]
ConnectionId = Annotated[str, Path(max_length=64)]
DriverId = Annotated[str, Path(max_length=128)]


@router.post(
    "/organizations",
    tags=["Organizations"],
    summary="Create an organization (you become its admin)",
    responses=answers(views.Organization, refusals=(Forbidden,)),
)
@idempotent(app)
def create_organization(organization: views.NewOrganization) -> tuple[views.Organization, int]:
    return admins.create_organization(caller(app), organization), 201


@router.get("/organizations", tags=["Organizations"], summary="Organizations I administer")
def my_organizations() -> list[views.Organization]:
    return admins.my_organizations(caller(app))


@router.get("/organizations/<organization_id>", tags=["Organizations"], summary="An organization")
def get_organization(organization_id: OrganizationId) -> views.Organization:
    return admins.get_organization(caller(app), organization_id)


@router.get("/organizations/<organization_id>/admins", tags=["Organizations"], summary="Admins")
def list_admins(organization_id: OrganizationId) -> list[views.Admin]:
    return admins.list_admins(caller(app), organization_id)


@router.post(
    "/organizations/<organization_id>/admins",
    tags=["Organizations"],
    summary="Add an admin",
    responses=answers(views.Admin),
)
@idempotent(app)
def add_admin(organization_id: OrganizationId, admin: views.NewAdmin) -> tuple[views.Admin, int]:
    return admins.add_admin(caller(app), organization_id, admin), 201


@router.delete(
    "/organizations/<organization_id>/admins/<email>",
    tags=["Organizations"],
    summary="Remove an admin (never the last one)",
)
def remove_admin(organization_id: OrganizationId, email: Annotated[str, Path(max_length=254)]) -> dict:
    email = email.lower()  # API Gateway hands path parameters decoded: no second unquote
    admins.remove_admin(caller(app), organization_id, email)
    return {"removed": email}


@router.get(
    "/organizations/<organization_id>/admins/me/alerts",
    tags=["Organizations"],
    summary="My email alerts about new requests",
)
def my_alert_settings(organization_id: OrganizationId) -> views.AlertSettings:
    return admins.alert_settings(caller(app), organization_id)


@router.put(
    "/organizations/<organization_id>/admins/me/alerts",
    tags=["Organizations"],
    summary="Turn my email alerts about new requests on or off",
)
def change_my_alert_settings(
    organization_id: OrganizationId, settings: views.AlertSettings
) -> views.AlertSettings:
    return admins.change_alert_settings(caller(app), organization_id, settings)


@router.post(
    "/organizations/<organization_id>/connections",
    tags=["Connections"],
    summary="Create a connection",
    responses=answers(views.ConnectionForAdmin, refusals=(TooManyRequests,)),
)
@idempotent(app)
def create_connection(
    organization_id: OrganizationId, connection: views.NewConnection
) -> tuple[views.ConnectionForAdmin, int]:
    return admins.create_connection(caller(app), source_ip(app), organization_id, connection), 201


@router.get("/organizations/<organization_id>/connections", tags=["Connections"], summary="Connections")
def list_connections(
    organization_id: OrganizationId, limit: Limit = 50, cursor: Cursor = None
) -> Page[views.ConnectionForAdmin]:
    return admins.list_connections(caller(app), organization_id, limit=limit, cursor=cursor)


@router.get(
    "/organizations/<organization_id>/connections/<connection_id>",
    tags=["Connections"],
    summary="A connection",
)
def get_connection(organization_id: OrganizationId, connection_id: ConnectionId) -> views.ConnectionForAdmin:
    return admins.get_connection(caller(app), organization_id, connection_id)


@router.patch(
    "/organizations/<organization_id>/connections/<connection_id>",
    tags=["Connections"],
    summary="Change a connection (enable, disable, change its code, ...)",
    responses=answers(views.ConnectionForAdmin, created=False, refusals=(TooManyRequests,)),
)
def update_connection(
    organization_id: OrganizationId, connection_id: ConnectionId, changes: views.ConnectionChanges
) -> views.ConnectionForAdmin:
    return admins.update_connection(caller(app), source_ip(app), organization_id, connection_id, changes)


@router.get(
    "/organizations/<organization_id>/connections/<connection_id>/requests",
    tags=["Requests"],
    summary="Requests and memberships by status",
)
def list_requests(
    organization_id: OrganizationId,
    connection_id: ConnectionId,
    status: Annotated[Status, Query()] = Status.PENDING,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[views.MemberRequest]:
    return admins.list_requests(
        caller(app), organization_id, connection_id, status=status, limit=limit, cursor=cursor
    )


@router.get(
    "/organizations/<organization_id>/connections/<connection_id>/members",
    tags=["Requests"],
    summary="Members",
)
def list_members(
    organization_id: OrganizationId, connection_id: ConnectionId, limit: Limit = 50, cursor: Cursor = None
) -> Page[views.MemberRequest]:
    return admins.list_requests(
        caller(app), organization_id, connection_id, status=Status.ACTIVE, limit=limit, cursor=cursor
    )


@router.post(
    "/organizations/<organization_id>/connections/<connection_id>/requests/decisions",
    tags=["Requests"],
    summary="Approve or deny up to 100 requests",
)
@idempotent(app)
def decide_many(
    organization_id: OrganizationId, connection_id: ConnectionId, decisions: views.Decisions
) -> views.DecisionResults:
    results = admins.decide_many(caller(app), organization_id, connection_id, decisions)
    for name, decision in (("Approvals", "approve"), ("Denials", "deny")):
        done = sum(
            1
            for r, d in zip(results.results, decisions.decisions, strict=True)
            if r.ok and d.decision == decision
        )
        if done:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=done)
    return results


@router.post(
    "/organizations/<organization_id>/connections/<connection_id>/requests/<driver_id>/approve",
    tags=["Requests"],
    summary="Approve a request",
)
@idempotent(app)
def approve(
    organization_id: OrganizationId, connection_id: ConnectionId, driver_id: DriverId
) -> views.MemberRequest:
    membership = admins.decide(caller(app), organization_id, connection_id, driver_id, Action.APPROVE)
    metrics.add_metric(name="Approvals", unit=MetricUnit.Count, value=1)
    return membership


@router.post(
    "/organizations/<organization_id>/connections/<connection_id>/requests/<driver_id>/deny",
    tags=["Requests"],
    summary="Deny a request, with an optional message to the driver",
)
@idempotent(app)
def deny(
    organization_id: OrganizationId,
    connection_id: ConnectionId,
    driver_id: DriverId,
    denial: Annotated[views.Denial | None, Body()] = None,
) -> views.MemberRequest:
    message = denial.message if denial else None
    membership = admins.decide(caller(app), organization_id, connection_id, driver_id, Action.DENY, message)
    metrics.add_metric(name="Denials", unit=MetricUnit.Count, value=1)
    return membership


@router.delete(
    "/organizations/<organization_id>/connections/<connection_id>/members/<driver_id>",
    tags=["Requests"],
    summary="Remove a member",
)
def remove_member(
    organization_id: OrganizationId, connection_id: ConnectionId, driver_id: DriverId
) -> views.MemberRequest:
    membership = admins.decide(caller(app), organization_id, connection_id, driver_id, Action.REMOVE)
    metrics.add_metric(name="Removals", unit=MetricUnit.Count, value=1)
    return membership


app.include_router(router)
handler = lambda_handler(app)
