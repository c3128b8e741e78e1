"""What the tests ask of every stream a test drains by hand (infra.local.streams.Replayer)."""

import pytest

from infra.local.streams import Replayer


def none_redelivered(replayer: Replayer, request: pytest.FixtureRequest) -> None:
    """No record was delivered again after its function failed it: the replayer retries as Lambda does,
    so a function that fails once and passes on the retry would otherwise pass the test. A test that
    fails a batch on purpose says so with `@pytest.mark.redelivers`."""
    if request.node.get_closest_marker("redelivers") is None:
        assert replayer.redelivered == 0, f"{replayer.mapping.function} failed records that passed on a retry"
