"""Driver map: stations near a point that the caller may see, a station, and whether the caller may charge
there now (and if not, why and what to do)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from connections.platform.http import caller, lambda_handler, make_resolver
from connections.stations import charging, views

router = Router()
app = make_resolver()

StationId = Annotated[str, Path(max_length=36)]


@router.get("/stations", tags=["Map"], summary="Stations near a point that I may see, with my price")
def search(
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude of the point.")],
    lng: Annotated[float, Query(ge=-180, le=180, description="Longitude of the point.")],
    radius_km: Annotated[float, Query(gt=0, le=8, description="At most 8 km.")] = 3,
    limit: Annotated[int, Query(ge=1, le=200, description="Nearest first.")] = 50,
) -> views.StationsNearby:
    return charging.search(caller(app), lat, lng, radius_km, limit)


@router.get("/stations/<station_id>", tags=["Map"], summary="A station, with my price and whether it is open")
def get_station(station_id: StationId) -> views.StationOnMap:
    return charging.get_station(caller(app), station_id)


@router.get(
    "/stations/<station_id>/access",
    tags=["Map"],
    summary="May I charge here now, at what price; if not, why and what to do",
)
def check_access(station_id: StationId) -> views.AccessCheck:
    return charging.check_access(caller(app), station_id)


app.include_router(router)
handler = lambda_handler(app)
