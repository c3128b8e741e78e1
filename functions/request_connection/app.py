"""Driver API: browse and look up connections, request one, see and end one's own memberships."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit

from connections.memberships import drivers, verify_email
from connections.memberships import views as memberships_views
from connections.platform.errors import TooManyRequests
from connections.platform.http import answers, caller, idempotent, lambda_handler, make_resolver, source_ip
from connections.platform.telemetry import metrics
from connections.platform.views import Page
from connections.stations import cards
from connections.stations import views as stations_views

router = Router()
app = make_resolver()

Limit = Annotated[int, Query(ge=1, le=50, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page.")]
ConnectionId = Annotated[str, Path(max_length=64)]


@router.get("/connections", tags=["Drivers"], summary="Browse public connections")
def browse(
    name: Annotated[str | None, Query(max_length=100, description="Connection name starts with.")] = None,
    organization: Annotated[
        str | None, Query(max_length=100, description="Organization name starts with.")
    ] = None,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[memberships_views.ConnectionForDriver]:
    caller(app)
    return drivers.browse(
        name=name, organization=organization, organization_id=organization_id, limit=limit, cursor=cursor
    )


@router.get(
    "/connections/by-code/<code>",
    tags=["Drivers"],
    summary="Find a connection by its code",
    responses=answers(memberships_views.ConnectionForDriver, created=False, refusals=(TooManyRequests,)),
)
def look_up_code(code: Annotated[str, Path(max_length=40)]) -> memberships_views.ConnectionForDriver:
    return drivers.look_up_code(caller(app), source_ip(app), code)


@router.get("/connections/<connection_id>", tags=["Drivers"], summary="A connection")
def get_connection(connection_id: ConnectionId) -> memberships_views.ConnectionForDriver:
    return drivers.get_connection(caller(app), connection_id)


@router.post(
    "/connections/<connection_id>/memberships",
    tags=["Drivers"],
    summary="Request to join a connection",
    responses=answers(memberships_views.Membership, existing=True, refusals=(TooManyRequests,)),
)
@idempotent(app)
def request_connection(
    connection_id: ConnectionId, request: memberships_views.MembershipRequest
) -> tuple[memberships_views.Membership, int]:
    membership, status = drivers.request(caller(app), source_ip(app), connection_id, request)
    if status == 201:
        metrics.add_metric(name="MembershipRequested", unit=MetricUnit.Count, value=1)
        if membership.status == "active":
            metrics.add_metric(name="Approvals", unit=MetricUnit.Count, value=1)
    return membership, status


@router.get("/me/memberships", tags=["Drivers"], summary="My connections")
def my_memberships(limit: Limit = 20, cursor: Cursor = None) -> Page[memberships_views.Membership]:
    return drivers.my_memberships(caller(app), limit=limit, cursor=cursor)


@router.get("/me/memberships/<connection_id>", tags=["Drivers"], summary="My membership in a connection")
def my_membership(connection_id: ConnectionId) -> memberships_views.Membership:
    return drivers.my_membership(caller(app), connection_id)


@router.delete(
    "/me/memberships/<connection_id>", tags=["Drivers"], summary="Withdraw my request or leave the connection"
)
def end_membership(connection_id: ConnectionId) -> memberships_views.Membership:
    return drivers.end(caller(app), connection_id)


@router.post(
    "/me/memberships/<connection_id>/verification",
    tags=["Drivers"],
    summary="Confirm my address with the code from the email (approval by email domain)",
)
@idempotent(app)
def confirm_email(
    connection_id: ConnectionId, confirmation: memberships_views.VerificationCode
) -> memberships_views.Membership:
    membership = verify_email.confirm(caller(app), connection_id, confirmation)
    metrics.add_metric(name="EmailsConfirmed", unit=MetricUnit.Count, value=1)
    return membership


@router.get(
    "/me/memberships/<connection_id>/stations",
    tags=["Drivers"],
    summary="On how many of the connection's stations my access has arrived",
)
def my_station_delivery(connection_id: ConnectionId) -> stations_views.StationDelivery:
    return cards.delivery(caller(app), connection_id)


@router.get("/me/cards", tags=["Cards"], summary="My charging cards")
def my_cards() -> list[stations_views.Card]:
    return cards.my_cards(caller(app))


@router.post(
    "/me/cards",
    tags=["Cards"],
    summary="Register a charging card",
    responses=answers(stations_views.Card, existing=True),
)
@idempotent(app)
def add_card(card: stations_views.NewCard) -> tuple[stations_views.Card, int]:
    return cards.add_card(caller(app), card)


@router.delete(
    "/me/cards/<id_tag>", tags=["Cards"], summary="Remove a charging card (it is blocked at stations)"
)
def remove_card(id_tag: Annotated[str, Path(max_length=20)]) -> dict:
    cards.remove_card(caller(app), id_tag)
    return {"removed": id_tag.upper()}


app.include_router(router)
handler = lambda_handler(app)
