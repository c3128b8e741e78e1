"""The safety net of the station tests: the OCPP 1.6 checks that every published frame goes through must
refuse what a station would refuse (no AWS involved)."""

import pytest

from tests.support.stations import OcppLedger

GOOD_LIST = [2, "a1", "SendLocalList", {"listVersion": 1, "updateType": "Full", "localAuthorizationList": []}]


def entry(**info) -> dict:
    return {
        "listVersion": 2,
        "updateType": "Differential",
        "localAuthorizationList": [{"idTag": "T", **info}],
    }


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param([2, "b1", "SendLocalList", {"updateType": "Full"}], id="no-listVersion"),
        pytest.param([2, "b1", "SendLocalList", {**GOOD_LIST[3], "updateType": "All"}], id="bad-updateType"),
        pytest.param([2, "b1", "SendLocalList", entry(idTagInfo={"status": "Revoked"})], id="bad-status"),
        pytest.param(
            [2, "b1", "SendLocalList", entry(idTagInfo={"status": "Accepted", "expiryDate": "tomorrow"})],
            id="bad-date",
        ),
        pytest.param(
            [
                2,
                "b1",
                "SendLocalList",
                entry(idTagInfo={"status": "Accepted", "expiryDate": "2030-01-01T00:00"}),
            ],
            id="date-without-offset",
        ),
        pytest.param(
            [2, "b1", "SendLocalList", {**GOOD_LIST[3], "localAuthorizationList": [{"idTag": "X" * 21}]}],
            id="long-idTag",
        ),
        pytest.param([2, "b1", "SendLocalList", {**GOOD_LIST[3], "extra": 1}], id="extra-property"),
        pytest.param([2, "x" * 37, "GetLocalListVersion", {}], id="long-uniqueId"),
        pytest.param([2, "b1", "NoSuchAction", {}], id="unknown-action"),
        pytest.param([3, "never-asked", {}], id="result-to-nothing"),
        pytest.param([3, "s1", {"idTagInfo": {"status": "Maybe"}}], id="bad-result"),
        pytest.param([4, "s1", "Oops", "", {}], id="unknown-error-code"),
        pytest.param([5, "s1", {}], id="unknown-type"),
    ],
)
def test_an_invalid_frame_from_the_service_is_refused(frame):
    # Given the station asked something (s1: Authorize)
    ledger = OcppLedger()
    ledger.check_from_station([2, "s1", "Authorize", {"idTag": "T"}])

    # When / Then
    with pytest.raises(AssertionError):
        ledger.check_from_service("CP-1/out", frame)


def test_valid_frames_pass_and_a_result_is_checked_against_the_call_it_answers():
    # Given
    ledger = OcppLedger()
    ledger.check_from_station([2, "s1", "Authorize", {"idTag": "T"}])

    # When
    ledger.check_from_service("CP-1/out", GOOD_LIST)
    ledger.check_from_service(
        "CP-1/out", [3, "s1", {"idTagInfo": {"status": "Accepted", "expiryDate": "2030-01-01T00:00:00Z"}}]
    )
    ledger.check_from_station([3, "a1", {"status": "Accepted"}])

    # Then a SendLocalList answer is not a valid Authorize answer, nor the reverse
    with pytest.raises(AssertionError):
        ledger.check_from_station([3, "a1", {"idTagInfo": {"status": "Accepted"}}])
    with pytest.raises(AssertionError):
        ledger.check_from_service("CP-1/out", [3, "s1", {"status": "Accepted"}])
    with pytest.raises(AssertionError):
        ledger.check_from_service("CP-1/in", GOOD_LIST)  # the service publishes on <id>/out only
