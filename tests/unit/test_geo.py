"""The map's geospatial index, pure: geohashes, distances, and the few sort-key ranges that cover a search
circle without missing a station in it."""

import random

import pytest

from connections.stations import geo


def test_geohashes_are_the_standard_ones():
    # Given two places whose geohashes are published (Wikipedia's example; Berlin's Brandenburg Gate)
    # Then
    assert geo.encode(57.64911, 10.40744, 11) == "u4pruydqqvj"
    assert geo.encode(52.516275, 13.377704, 7) == "u33db2m"
    assert geo.encode(-33.8688, 151.2093, 5) == "r3gx2"  # southern and eastern hemispheres
    assert geo.encode(40.7128, -74.0060, 5) == "dr5re"  # western


def test_the_edges_of_the_world_encode():
    assert geo.encode(90, 180, 4) == "zzzz"
    assert geo.encode(-90, -180, 4) == "0000"


def test_distance_is_the_great_circle_one():
    # Berlin Hauptbahnhof to Alexanderplatz: about 3.0 km
    assert 2_900 < geo.distance_m(52.5251, 13.3694, 52.5219, 13.4132) < 3_100
    assert geo.distance_m(10, 10, 10, 10) == 0


def _inside(ranges: list[geo.Range], lat: float, lng: float) -> bool:
    key = geo.encode(lat, lng) + "#station"
    return any(key[: geo.PARTITION] == r.partition and r.low <= key <= r.high for r in ranges)


@pytest.mark.parametrize(
    ("lat", "lng", "radius_m"),
    [
        (52.52, 13.405, 500),  # Berlin
        (52.52, 13.405, 8_000),
        (-33.87, 151.21, 3_000),  # Sydney
        (40.7128, -74.006, 1_000),  # New York
        (64.1466, -21.9426, 8_000),  # Reykjavik, far north: wide cells
        (0.0001, 0.0001, 2_000),  # where the four first cells of the world meet
        (0.0, -179.999, 1_000),  # across the 180th meridian, from either side
        (0.0, 179.999, 8_000),
        (-17.8, 180.0, 8_000),  # Taveuni, Fiji, on the meridian
        (-17.8, -180.0, 8_000),
        (78.2232, 15.6267, 8_000),  # Longyearbyen, as far north as chargers go
    ],
)
def test_a_cover_holds_every_point_of_the_circle_in_at_most_eight_ranges(lat, lng, radius_m):
    # Given a search circle
    ranges = geo.cover(lat, lng, radius_m, 8)
    # Then it takes at most 8 queries, each within one partition, and every point of the circle is in one
    assert 1 <= len(ranges) <= 8
    assert all(r.low.startswith(r.partition) and r.high.startswith(r.partition) for r in ranges)
    spread = random.Random(f"{lat},{lng}")
    for _ in range(2_000):
        plat = lat + spread.uniform(-1, 1) * radius_m / 111_000
        plng = (lng + spread.uniform(-1, 1) * radius_m / 40_000 + 180) % 360 - 180
        if geo.distance_m(lat, lng, plat, plng) <= radius_m:
            assert _inside(ranges, plat, plng), (plat, plng)


def test_a_search_across_the_180th_meridian_finds_what_is_on_the_other_side():
    # Given a station at (0, 179.999) and a search 1 km around (0, -179.999), 222 m away
    assert 220 < geo.distance_m(0, -179.999, 0, 179.999) < 225
    # Then the ranges hold the station, and the search point's own side
    ranges = geo.cover(0, -179.999, 1_000, 8)
    assert _inside(ranges, 0, 179.999) and _inside(ranges, 0, -179.999)
    assert _inside(geo.cover(0, 179.999, 1_000, 8), 0, -179.999)


def test_a_circle_holding_a_pole_is_refused_rather_than_searched_on_one_side():
    # Every longitude meets at the pole: 100 m around it touches every partition of the top row
    with pytest.raises(geo.TooWide):
        geo.cover(89.9995, 0.0, 100, 8)


def test_a_small_circle_reads_little_outside_it():
    # Given 1 km around a point: the ranges cover a few fine cells, not whole 20 km partitions
    ranges = geo.cover(52.52, 13.405, 1_000, 8)
    # Then every range is at a precision finer than the partition's
    assert all(len(r.low) > geo.PARTITION for r in ranges)


def test_a_circle_touching_too_many_partitions_is_refused():
    # Near the pole a partition cell is a few km wide: 8 km touches more than 8 of them
    with pytest.raises(geo.TooWide):
        geo.cover(89.0, 0.0, 8_000, 8)


def test_the_templates_map_index_projects_what_a_search_reads():
    from connections.platform.table import MAP_ATTRIBUTES
    from connections.stations.items import MapStation
    from infra.template import resources

    (table,) = [t for n, t in resources("AWS::DynamoDB::Table").items() if n == "ConnectionsTable"]
    (index,) = [i for i in table["Properties"]["GlobalSecondaryIndexes"] if i["IndexName"] == "gsi4"]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert sorted(index["Projection"]["NonKeyAttributes"]) == sorted(MAP_ATTRIBUTES)
    assert set(MapStation.__dataclass_fields__) <= set(MAP_ATTRIBUTES)
