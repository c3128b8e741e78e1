"""Station admin API: access policies (station groups), stations, and how far each one's list has got."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from connections.memberships.views import Email
from connections.platform.http import answers, caller, idempotent, lambda_handler, make_resolver
from connections.stations import charging, manage, views

router = Router()
app = make_resolver()

OrganizationId = Annotated[str, Path(max_length=64)]
PolicyId = Annotated[str, Path(max_length=64)]
StationId = Annotated[str, Path(max_length=36)]


@router.post(
    "/organizations/<organization_id>/policies",
    tags=["Stations"],
    summary="Create an access policy",
    responses=answers(views.Policy),
)
@idempotent(app)
def create_policy(organization_id: OrganizationId, policy: views.NewPolicy) -> tuple[views.Policy, int]:
    return manage.create_policy(caller(app), organization_id, policy), 201


@router.get("/organizations/<organization_id>/policies", tags=["Stations"], summary="Access policies")
def list_policies(organization_id: OrganizationId) -> list[views.Policy]:
    return manage.list_policies(caller(app), organization_id)


@router.get(
    "/organizations/<organization_id>/policies/<policy_id>", tags=["Stations"], summary="An access policy"
)
def get_policy(organization_id: OrganizationId, policy_id: PolicyId) -> views.Policy:
    return manage.get_policy(caller(app), organization_id, policy_id)


@router.patch(
    "/organizations/<organization_id>/policies/<policy_id>",
    tags=["Stations"],
    summary="Change which connections unlock the policy's stations",
)
def update_policy(
    organization_id: OrganizationId, policy_id: PolicyId, changes: views.PolicyChanges
) -> views.Policy:
    return manage.update_policy(caller(app), organization_id, policy_id, changes)


@router.post(
    "/organizations/<organization_id>/stations",
    tags=["Stations"],
    summary="Register a station",
    responses=answers(views.Station),
)
@idempotent(app)
def register_station(organization_id: OrganizationId, station: views.NewStation) -> tuple[views.Station, int]:
    return manage.register_station(caller(app), organization_id, station), 201


@router.get(
    "/organizations/<organization_id>/stations",
    tags=["Stations"],
    summary="Stations, and how many are out of sync",
)
def list_stations(
    organization_id: OrganizationId,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> views.Stations:
    return manage.list_stations(caller(app), organization_id, limit=limit, cursor=cursor)


@router.get(
    "/organizations/<organization_id>/stations/<station_id>",
    tags=["Stations"],
    summary="A station and the state of its allow list",
)
def get_station(organization_id: OrganizationId, station_id: StationId) -> views.Station:
    return manage.get_station(caller(app), organization_id, station_id)


@router.patch(
    "/organizations/<organization_id>/stations/<station_id>",
    tags=["Stations"],
    summary="Change a station's policy, name, place or capabilities",
)
def update_station(
    organization_id: OrganizationId, station_id: StationId, changes: views.StationChanges
) -> views.Station:
    return manage.update_station(caller(app), organization_id, station_id, changes)


@router.get(
    "/organizations/<organization_id>/stations/<station_id>/preview",
    tags=["Stations"],
    summary="What a driver would get at the station now: access, price, reason",
)
def preview_access(
    organization_id: OrganizationId,
    station_id: StationId,
    driver: Annotated[str | None, Query(min_length=1, max_length=128, description="The driver's id.")] = None,
    email: Annotated[
        Email | None, Query(description="Or the address the driver asked the policy's connections with.")
    ] = None,
) -> views.AccessPreview:
    return charging.preview(caller(app), organization_id, station_id, driver, email)


app.include_router(router)
handler = lambda_handler(app)
