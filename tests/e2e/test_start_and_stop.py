"""`make run` starts, seeds its demo, stops on Ctrl-C with nothing left behind, and starts again."""

import pytest

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def test_ctrl_c_stops_everything_and_a_second_start_works():
    # Given the stack with its demo
    first = Stack(seed=True)
    try:
        assert "Demo data" in first.output() and "curl" in first.output()
        status, found, _ = first.call("GET", "/connections/by-code/acmestaff", user="newcomer")
        assert status == 200 and found["name"] == "Employees"
        workers = first.children()
        assert workers, "the functions run in worker processes"
    finally:
        # When Ctrl-C arrives
        code = first.stop()
    # Then it exits cleanly and leaves no process behind
    assert code == 0, first.output()
    assert "Stopped." in first.output()
    assert not first.children()
    # And a second start on the same ports works
    again = Stack(seed=False, ports=(first.port, first.mqtt_port, first.moto_port, first.ocpp_port))
    try:
        assert again.call("GET", "/openapi.json")[0] == 200
    finally:
        assert again.stop() == 0
