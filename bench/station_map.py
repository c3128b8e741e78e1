"""The driver's map at city scale (10,000 stations, a driver with 5 Active connections): DynamoDB calls,
index queries and items read per search, and the handler's p50/p99.

    .venv/bin/python bench/station_map.py [--searches 1000]     (1,000 take about 20 minutes, mostly moto)

The city (30 km x 30 km around Berlin; 100 organizations with 3 connections and 2 policies each, one shown
to members only, one open to everyone at office hours with prices; a fifth of the stations without a
policy) is written to moto in this process; the real handler answers `GET /stations` at seeded random
points within 3 km. Baseline: a Scan per search, on 5 of them. Targets: at most 9 index queries per search
and no Scan (exit 1 otherwise).
"""

import argparse
import gc
import random
import statistics
import sys
import time
from collections import Counter
from decimal import Decimal

import seed
from common import DYNAMODB, api, moto, pct

from tests.support.round_trips import CENTRE, MAX_INDEX_QUERIES

CITY_KM, STATIONS, ORGANIZATIONS, DRIVER = 30, 10_000, 100, "driver-with-5"
SCAN_SAMPLE, RADIUS_KM, SEED = 5, 3.0, 6


def index_moto_queries() -> Counter:
    """moto answers an index Query by checking every item (about 0.4 s per search here): this bench would
    measure moto. The table does not change during the searches, so each index Query is handed only its
    partition's items (grouped once; for a BETWEEN, only those within it); moto still applies the
    conditions, projection, order and paging, so the answers are the same. Returns the count of shortened
    Queries (["shortened"])."""
    from moto.dynamodb.models.table import SecondaryIndex, Table

    query, all_items = Table.query, Table.all_items
    groups: dict[tuple[int, str, str], list] = {}
    done: set[tuple[int, str]] = set()
    counted: Counter = Counter()

    def grouped(table, attribute: str, value: str) -> list:
        if (id(table), attribute) not in done:
            done.add((id(table), attribute))
            for item in all_items(table):
                found = item.attrs.get(attribute)
                if found is not None and found.type == "S":
                    groups.setdefault((id(table), attribute, found.value), []).append(item)
        return groups.get((id(table), attribute, value), [])

    def indexed_query(table, *args, hash_key_conditions=None, **kwargs):
        index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
        ranges = kwargs.get("range_key_conditions")
        if index_name and hash_key_conditions and len(hash_key_conditions) == 1:
            ((attribute, value),) = hash_key_conditions
            only = grouped(table, attribute, value.value)
            if ranges and str(ranges[-1][1]).upper() == "BETWEEN":
                name, _, (low, high) = ranges[-1]
                only = [i for i in only if name in i.attrs and low.value <= i.attrs[name].value <= high.value]
            table.all_items = lambda: only
            counted["shortened"] += 1
            try:
                return query(table, *args, hash_key_conditions=hash_key_conditions, **kwargs)
            finally:
                del table.all_items
        return query(table, *args, hash_key_conditions=hash_key_conditions, **kwargs)

    Table.query = indexed_query
    # Projecting an item onto an INCLUDE index costs moto ~3 ms (it round-trips the item through JSON);
    # unchanged items project the same, so each is projected once.
    project, projected = SecondaryIndex.project, {}

    def project_once(index, item):
        key = (id(index), id(item))
        if key not in projected:
            projected[key] = project(index, item)
        return projected[key]

    SecondaryIndex.project = project_once
    return counted


def _place(rng: random.Random) -> tuple[float, float]:
    half = CITY_KM / 2
    lat = CENTRE[0] + rng.uniform(-half, half) / 111.32
    lng = CENTRE[1] + rng.uniform(-half, half) / (111.32 * 0.6088)
    return lat, lng


def seed_city(rng: random.Random) -> list[tuple[float, float]]:
    """The city's organizations, connections, policies and stations, and the driver's 5 memberships and
    card; returns the stations' places."""
    from connections.memberships.items import OrganizationItem
    from connections.stations.policy import Group, Price, Rules, Window

    office = (Window.parse({"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}),)
    items, policies, connections = [], [], []
    for o in range(ORGANIZATIONS):
        org, name = f"org-{o:03d}", f"Organization {o}"
        items.append(seed.item(OrganizationItem, (org,), organization_id=org, name=name, created_by="bench"))
        ids = [f"{org}-conn-{c}" for c in range(3)]
        for c, connection_id in enumerate(ids):
            fields = {"organization_name": name, "name": f"Group {c}", "code": f"CODE{o:03d}{c}"}
            items.append(seed.connection(org, connection_id, public=c == 0, **fields))
        connections += ids
        hidden = Rules((ids[0],), visible_to=frozenset({ids[0]}))
        public = Rules(
            tuple(ids[1:]),
            members={
                ids[1]: Group(price=Price()),
                ids[2]: Group(office, Price("EUR", per_kwh=Decimal("0.25"))),
            },
            everyone=Group(office, Price("EUR", per_kwh=Decimal("0.49"))),
        )
        for p, rules in enumerate((hidden, public)):
            visible = sorted(rules.visible_to) if rules.visible_to is not None else None
            fields = {"name": f"Policy {p}", "visible_to": visible, "rules": rules.stored()}
            items += seed.policy(org, f"{org}-policy-{p}", list(rules.connection_ids), **fields)
            policies.append((org, name, f"{org}-policy-{p}"))
    places = []
    for n in range(STATIONS):
        org, name, policy_id = rng.choice(policies)
        lat, lng = _place(rng)
        policy_id = None if rng.random() < 0.2 else policy_id
        place = {"latitude": round(lat, 6), "longitude": round(lng, 6), "time_zone": "Europe/Berlin"}
        items.append(seed.station(org, f"CP-{n:05d}", organization_name=name, policy_id=policy_id, **place))
        places.append((place["latitude"], place["longitude"]))
    for connection_id in rng.sample(connections, 5):
        items.append(seed.membership(connection_id.split("-conn-")[0], connection_id, DRIVER))
    items.append(seed.card(DRIVER, "DRIVER05"))
    seed.write(items)
    return places


def scan_baseline(points: list[tuple[float, float]], radius_km: float) -> tuple[float, float]:
    """Items a Scan reads for a search, and how many of them are stations in the circle (mean)."""
    from connections.platform.table import Item
    from connections.stations import geo
    from connections.stations.items import StationItem

    read, inside = [], []
    for lat, lng in points:
        DYNAMODB.reset()
        places = [(float(s.latitude), float(s.longitude)) for s in Item.scan() if isinstance(s, StationItem)]
        read.append(DYNAMODB.items_read())
        inside.append(sum(geo.distance_m(lat, lng, *p) <= radius_km * 1000 for p in places))
    return statistics.mean(read), statistics.mean(inside)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searches", type=int, default=1000)
    args = parser.parse_args()
    with moto(counted=True):
        rng = random.Random(SEED)
        started = time.perf_counter()
        places = seed_city(rng)
        print(
            f"city: {STATIONS:,} stations in {CITY_KM} km x {CITY_KM} km around {CENTRE}, "
            f"{ORGANIZATIONS} organizations, {2 * ORGANIZATIONS} policies; driver with 5 Active connections "
            f"(seeded in {time.perf_counter() - started:.1f} s)"
        )

        moto_queries = index_moto_queries()
        gc.collect()
        gc.freeze()  # the seeded table is moto's heap: keep the collector from sweeping it on every search
        started = time.perf_counter()
        from functions.station_map.app import handler

        points = [_place(rng) for _ in range(args.searches)]
        from connections.stations import geo

        totals, outside, operations, queries, items, shown = [], [], Counter(), [], [], []
        map_items, in_circle = [], []
        for lat, lng in points:
            DYNAMODB.reset()
            begin = time.perf_counter()
            search = {"lat": lat, "lng": lng, "radius_km": RADIUS_KM, "limit": 200}
            answer = api(handler, "GET", "/stations", sub=DRIVER, query=search)
            elapsed = time.perf_counter() - begin
            totals.append(elapsed * 1000)
            outside.append((elapsed - DYNAMODB.seconds()) * 1000)
            operations.update(DYNAMODB.operations())
            queries.append(DYNAMODB.index_queries())
            items.append(DYNAMODB.items_read())
            map_items.append(DYNAMODB.items_read("gsi4"))
            in_circle.append(sum(1 for p in places if geo.distance_m(lat, lng, *p) <= RADIUS_KM * 1000))
            shown.append(len(answer["items"]))
        last, n = len(DYNAMODB.calls), len(points)  # the last search's calls, for the shape of one
        per_search = {op: count / n for op, count in sorted(operations.items())}
        searched = time.perf_counter() - started
        baseline_read, baseline_inside = scan_baseline(points[:SCAN_SAMPLE], RADIUS_KM)
        scans, mean = time.perf_counter() - started - searched, statistics.mean
        first, per_circle = mean(items[:SCAN_SAMPLE]), sum(map_items) / max(1, sum(in_circle))
        calls = ", ".join(f"{op} {v:.2f}" for op, v in per_search.items())
        figures = {
            "searches took / the scans took": f"{searched:.1f} s / {scans:.1f} s",
            "moto index queries given their partition's items only": moto_queries["shortened"],
            f"{n} searches, radius {RADIUS_KM} km, limit 200; DynamoDB calls per search (mean)": calls,
            "  DynamoDB calls of the last search": last,
            f"  index queries per search (target <= {MAX_INDEX_QUERIES})": f"max {max(queries)}",
            "  index queries per search, mean": f"{mean(queries):.2f}",
            "  Scans": operations["Scan"],
            "  items read per search": f"mean {mean(items):.0f}, p50 {pct(items, 50):.0f}, max {max(items)}",
            "  items read per search, p99": f"{pct(items, 99):.0f}",
            "  map index reads per search, mean": f"{mean(map_items):.0f}",
            "  stations in the circle, mean": f"{mean(in_circle):.0f}",
            "  read from the map index per station in the circle": f"{per_circle:.2f}",
            "  stations shown (visible to the driver, in the circle), mean": f"{mean(shown):.0f}",
            "  handler ms (with moto round-trips)": f"p50 {pct(totals, 50):.1f}, p99 {pct(totals, 99):.1f}",
            "  handler ms outside DynamoDB calls": f"p50 {pct(outside, 50):.1f}, p99 {pct(outside, 99):.1f}",
            f"baseline, a Scan per search ({SCAN_SAMPLE} of the same), items read": f"{baseline_read:,.0f}",
            "  for stations in the circle": f"{baseline_inside:.0f}",
            "  the index reads of that": f"{first / baseline_read:.1%} ({baseline_read / first:.0f}x fewer)",
        }
        for label, value in figures.items():
            print(f"{label}: {value}")
        ok = max(queries) <= MAX_INDEX_QUERIES and operations["Scan"] == 0
        if not ok:
            print(f"FAIL: a search made more than {MAX_INDEX_QUERIES} index queries, or a Scan")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
