"""Where stations are: geohashes, and the few sort-key ranges of the geospatial index that cover a search
circle. No I/O.

A station is indexed under the geohash of its place: partition `GEO#<first PARTITION chars>`, sort key
the full geohash. A geohash's characters interleave longitude and latitude bits, so geohashes sorted as
strings follow a Z-order curve and every cell of any precision is one contiguous run of sort keys.
`cover` takes the cells of a fine grid that touch the circle, turns consecutive cells into runs, and
joins the runs separated by the smallest gaps until at most `max_ranges` remain (a run never spans two
partitions, which are separate index queries anyway). Joining the smallest gaps reads the fewest cells
outside the circle for that number of queries. A circle across the 180th meridian takes the cells of
both sides; one holding a pole touches every partition of the top row, more than a search may query.

Written here rather than taken from a package: the geohash packages on the index are either C
extensions (pygeohash 3, python-geohash: per-architecture wheels for the arm64 layer) or unmaintained
since 2017, and none covers a circle with a bounded number of sort-key ranges, which is the part the
index needs; encoding is a dozen lines.
"""

import math
from dataclasses import dataclass

BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"  # ascending in ASCII: string order is Z-order
PRECISION = 9  # a station's geohash: cells of about 5 m
PARTITION = 4  # index partitions: cells of about 39 km x 20 km at the equator
MAX_CELLS = 1024  # the finest grid `cover` considers has at most this many cells
EARTH_RADIUS_M = 6_371_008.8
_LAST = "~"  # sorts after every geohash character and after "#": the end of a run's sort keys


def _bits(precision: int) -> tuple[int, int]:
    """(longitude bits, latitude bits) of a geohash of `precision` characters (longitude goes first)."""
    total = 5 * precision
    return (total + 1) // 2, total // 2


def _cell(lat: float, lng: float, precision: int) -> tuple[int, int]:
    lng_bits, lat_bits = _bits(precision)
    x = min(int((lng + 180.0) / 360.0 * (1 << lng_bits)), (1 << lng_bits) - 1)
    y = min(int((lat + 90.0) / 180.0 * (1 << lat_bits)), (1 << lat_bits) - 1)
    return max(x, 0), max(y, 0)


def _z(x: int, y: int, precision: int) -> int:
    """The cell's position on the Z-order curve: longitude and latitude bits interleaved, longitude first."""
    lng_bits, lat_bits = _bits(precision)
    z = 0
    for k in range(lng_bits + lat_bits):
        if k % 2 == 0:
            lng_bits -= 1
            z = (z << 1) | ((x >> lng_bits) & 1)
        else:
            lat_bits -= 1
            z = (z << 1) | ((y >> lat_bits) & 1)
    return z


def _text(z: int, precision: int) -> str:
    return "".join(BASE32[(z >> (5 * (precision - 1 - i))) & 31] for i in range(precision))


def encode(lat: float, lng: float, precision: int = PRECISION) -> str:
    return _text(_z(*_cell(lat, lng, precision), precision), precision)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine), in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Range:
    """One index query: sort keys from `low` to `high` in partition `partition` (a geohash prefix)."""

    partition: str
    low: str
    high: str


class TooWide(ValueError):
    """The circle touches more index partitions than one search may query."""


Box = tuple[float, float, list[tuple[float, float]]]  # south, north, longitude spans (west, east)


def _box(lat: float, lng: float, radius_m: float) -> Box:
    """A box holding the circle: its latitudes, and its longitudes as one span, or two when the circle
    crosses the 180th meridian, or every longitude when it holds a pole (they all meet there)."""
    angle = radius_m / EARTH_RADIUS_M
    d_lat = math.degrees(angle)
    south, north = max(lat - d_lat, -90.0), min(lat + d_lat, 90.0)
    if lat - d_lat <= -90.0 or lat + d_lat >= 90.0:
        return south, north, [(-180.0, 180.0)]
    # The circle's widest longitudes (not radius / cos(lat), which is too narrow near the poles).
    d_lng = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(lat))))
    west, east = lng - d_lng, lng + d_lng
    if west < -180.0:
        return south, north, [(west + 360.0, 180.0), (-180.0, east)]
    if east > 180.0:
        return south, north, [(west, 180.0), (-180.0, east - 360.0)]
    return south, north, [(west, east)]


def _grid(box: Box, precision: int) -> list[tuple[range, range]]:
    """The cells of the box at `precision`: (columns, rows) for each span of longitudes."""
    south, north, spans = box
    grid = []
    for west, east in spans:
        (x0, y0), (x1, y1) = _cell(south, west, precision), _cell(north, east, precision)
        grid.append((range(x0, x1 + 1), range(y0, y1 + 1)))
    return grid


def _touches(lat: float, lng: float, radius_m: float, x: int, y: int, precision: int) -> bool:
    """Whether cell (x, y) comes within radius_m of the point (to the cell's nearest point)."""
    lng_bits, lat_bits = _bits(precision)
    w, h = 360.0 / (1 << lng_bits), 180.0 / (1 << lat_bits)
    west = -180.0 + x * w
    # The point's longitude taken within 180 degrees of the cell, so that the cell's nearest side to a
    # point across the 180th meridian is the one facing it.
    lng = west + w / 2 + (lng - west - w / 2 + 180.0) % 360.0 - 180.0
    near_lng = min(max(lng, west), west + w)
    near_lat = min(max(lat, -90.0 + y * h), -90.0 + (y + 1) * h)
    return distance_m(lat, lng, near_lat, near_lng) <= radius_m


def cover(lat: float, lng: float, radius_m: float, max_ranges: int) -> list[Range]:
    """At most `max_ranges` sort-key ranges of the index that hold every station within radius_m."""
    box = _box(lat, lng, radius_m)
    precision = PARTITION
    for finer in range(PRECISION, PARTITION - 1, -1):
        if sum(len(xs) * len(ys) for xs, ys in _grid(box, finer)) <= MAX_CELLS:
            precision = finer
            break
    cells = sorted(
        _z(x, y, precision)
        for xs, ys in _grid(box, precision)
        for x in xs
        for y in ys
        if _touches(lat, lng, radius_m, x, y, precision)
    )
    shift = 5 * (precision - PARTITION)  # z >> shift is the cell's partition
    runs: list[list[int]] = []
    for z in cells:
        if runs and z == runs[-1][1] + 1 and z >> shift == runs[-1][0] >> shift:
            runs[-1][1] = z
        else:
            runs.append([z, z])
    partitions = len({low >> shift for low, _ in runs})
    if partitions > max_ranges:
        raise TooWide(f"the circle touches {partitions} index partitions")
    # Keep the largest gaps inside partitions as breaks; join across the others.
    gaps = sorted(
        (runs[i + 1][0] - runs[i][1], i)
        for i in range(len(runs) - 1)
        if runs[i][0] >> shift == runs[i + 1][0] >> shift
    )
    joins = {i for _, i in gaps[: max(0, len(runs) - max_ranges)]}
    merged: list[list[int]] = []
    for i, run in enumerate(runs):
        if merged and i - 1 in joins:
            merged[-1][1] = run[1]
        else:
            merged.append(list(run))
    return [
        Range(_text(low, precision)[:PARTITION], _text(low, precision), _text(high, precision) + _LAST)
        for low, high in merged
    ]
