"""The local stack's stand-ins for Lambda event filtering, IoT rule SQL and API Gateway's events: pure
functions."""

import json

import pytest

from infra.local.apigw import http_api_event, route_for
from infra.local.filters import matches, matches_any
from infra.local.iot import rule_event
from infra.template import routes

RECORD = {
    "eventName": "MODIFY",
    "dynamodb": {"NewImage": {"kind": {"S": "membership"}, "status": {"S": "active"}, "n": {"N": "5"}}},
    "count": 3,
    "tags": ["a", "b"],
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["MODIFY"]}, True),
        ({"eventName": ["INSERT", "MODIFY"]}, True),
        ({"eventName": ["REMOVE"]}, False),
        ({"dynamodb": {"NewImage": {"kind": {"S": ["membership"]}}}}, True),
        ({"dynamodb": {"NewImage": {"kind": {"S": ["connection"]}}}}, False),
        ({"dynamodb": {"OldImage": {"kind": {"S": ["membership"]}}}}, False),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"prefix": "act"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"suffix": "ive"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["pending"]}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": "active"}]}}}}, False),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": {"prefix": "pend"}}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"equals-ignore-case": "ACTIVE"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"message": [{"exists": False}]}}}, True),
        ({"dynamodb": {"NewImage": {"status": [{"exists": True}]}}}, True),
        ({"dynamodb": {"NewImage": {"status": [{"exists": False}]}}}, False),
        ({"count": [{"numeric": [">", 0, "<=", 3]}]}, True),
        ({"count": [{"numeric": [">", 3]}]}, False),
        ({"tags": ["b"]}, True),
        ({"eventName": ["MODIFY"], "count": [4]}, False),
    ],
)
def test_patterns(pattern, expected):
    assert matches(pattern, RECORD) is expected


def test_no_filters_match_everything_and_filters_are_ored():
    assert matches_any(None, RECORD)
    assert matches_any({"Filters": []}, RECORD)
    either = {
        "Filters": [
            {"Pattern": json.dumps({"eventName": ["INSERT"]})},
            {"Pattern": json.dumps({"count": [3]})},
        ]
    }
    assert matches_any(either, RECORD)
    assert not matches_any({"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]}, RECORD)


def test_unknown_rules_are_an_error_not_a_silent_match():
    with pytest.raises(ValueError, match="unsupported"):
        matches({"count": [{"wildcard": "*"}]}, RECORD)


def test_select_star_passes_the_payload():
    assert rule_event("SELECT * FROM '+/in'", "CP1/in", b'[2, "1", "Authorize", {}]') == [
        2,
        "1",
        "Authorize",
        {},
    ]


def test_select_with_topic_levels():
    event = rule_event("SELECT *, topic(1) AS station_id, topic() AS t FROM '+/in'", "CP1/in", b'{"a": 1}')
    assert event == {"a": 1, "station_id": "CP1", "t": "CP1/in"}


def test_a_non_object_payload_with_extra_fields_is_kept_under_payload():
    event = rule_event("SELECT *, topic(1) AS station_id FROM '+/in'", "CP1/in", b'[3, "1", {}]')
    assert event == {"payload": [3, "1", {}], "station_id": "CP1"}


def test_encode_base64_passes_the_raw_frame():
    sql = "SELECT topic(1) AS station_id, encode(*, 'base64') AS frame FROM '+/in'"
    event = rule_event(sql, "CP1/in", b'[3,"1",{"status":"Accepted"}]')
    assert event == {"station_id": "CP1", "frame": "WzMsIjEiLHsic3RhdHVzIjoiQWNjZXB0ZWQifV0="}


def test_exists_false_on_a_leaf_matches_an_absent_attribute():
    # As the stream filter for stations waiting for a Full uses it (on AWS, `exists` sits on a leaf)
    pattern = {"dynamodb": {"NewImage": {"in_flight_id": {"S": [{"exists": False}]}}}}
    assert matches(pattern, RECORD)
    assert not matches(pattern, {"dynamodb": {"NewImage": {"in_flight_id": {"S": "abc"}}}})


def test_the_gateway_hands_the_path_decoded_as_an_http_api_does():
    # When a request's path carries a space and a non-ASCII letter, percent-encoded
    route, path = route_for(routes(), "GET", "/connections/by-code/acme%202026%C3%96")
    event = http_api_event(route, "GET", path, "a=b%20c", {}, None, None, "198.51.100.7")

    # Then the event has them decoded everywhere but in the raw query string, as API Gateway sends it
    assert route.route_key == "GET /connections/by-code/{code}"
    assert event["pathParameters"] == {"code": "acme 2026\u00d6"}
    assert (
        event["rawPath"] == event["requestContext"]["http"]["path"] == "/connections/by-code/acme 2026\u00d6"
    )
    assert (event["rawQueryString"], event["queryStringParameters"]) == ("a=b%20c", {"a": "b c"})
    # and an encoded slash is a slash: it routes as two segments, to no route
    assert route_for(routes(), "GET", "/connections/by-code/a%2Fb")[0] is None
