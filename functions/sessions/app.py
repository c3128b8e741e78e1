"""Charging sessions as their drivers and their stations' admins see them: a driver's own sessions, and an
organization's filtered, exported as CSV and totalled per connection. It only reads."""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from connections.platform.http import caller, lambda_handler, make_resolver
from connections.sessions import reading, views

router = Router()
app = make_resolver()

OrganizationId = Annotated[str, Path(max_length=64)]
SessionId = Annotated[str, Path(description="`<station_id>~<transaction_id>`; anything else is a 404.")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2000)]
StartedFrom = Annotated[datetime, Query(alias="from", description="Sessions started at or after (ISO 8601).")]
StartedTo = Annotated[datetime, Query(alias="to", description="Sessions started before (ISO 8601).")]
StationFilter = Annotated[str | None, Query(max_length=36)]
ConnectionFilter = Annotated[
    str | None,
    Query(max_length=64, description="A connection's id, or `everyone` for everyone else's price."),
]


@router.get("/me/sessions", tags=["Sessions"], summary="My charging sessions, newest first")
def my_sessions(limit: Limit = 20, cursor: Cursor = None) -> views.Sessions:
    return reading.my_sessions(caller(app), limit=limit, cursor=cursor)


@router.get("/me/sessions/<session_id>", tags=["Sessions"], summary="One of my charging sessions")
def my_session(session_id: SessionId) -> views.Session:
    return reading.my_session(caller(app), session_id)


@router.get(
    "/organizations/<organization_id>/sessions",
    tags=["Sessions"],
    summary="The sessions at the organization's stations, newest first",
)
def org_sessions(
    organization_id: OrganizationId,
    started_from: Annotated[datetime | None, Query(alias="from")] = None,
    started_to: Annotated[datetime | None, Query(alias="to")] = None,
    station_id: StationFilter = None,
    connection_id: ConnectionFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> views.Sessions:
    return reading.org_sessions(
        caller(app),
        organization_id,
        started_from=started_from,
        started_to=started_to,
        station_id=station_id,
        connection_id=connection_id,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/organizations/<organization_id>/sessions.csv",
    tags=["Sessions"],
    summary="The same sessions as CSV, at most 31 days and 10,000 sessions per export",
    responses={
        200: {
            "description": "RFC 4180 CSV with a header row.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def org_sessions_csv(
    organization_id: OrganizationId,
    started_from: StartedFrom,
    started_to: StartedTo,
    station_id: StationFilter = None,
    connection_id: ConnectionFilter = None,
) -> Response[str]:
    body = reading.org_sessions_csv(
        caller(app),
        organization_id,
        started_from=started_from,
        started_to=started_to,
        station_id=station_id,
        connection_id=connection_id,
    )
    name = f"sessions-{started_from.date().isoformat()}-{started_to.date().isoformat()}.csv"
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=body,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/organizations/<organization_id>/sessions/totals",
    tags=["Sessions"],
    summary="Sessions, energy, revenue and discount given per connection, over at most 31 days",
)
def org_totals(
    organization_id: OrganizationId, started_from: StartedFrom, started_to: StartedTo
) -> views.Totals:
    return reading.org_totals(caller(app), organization_id, started_from=started_from, started_to=started_to)


@router.get(
    "/organizations/<organization_id>/sessions/<session_id>",
    tags=["Sessions"],
    summary="A session at one of the organization's stations",
)
def org_session(organization_id: OrganizationId, session_id: SessionId) -> views.Session:
    return reading.org_session(caller(app), organization_id, session_id)


app.include_router(router)
handler = lambda_handler(app)
