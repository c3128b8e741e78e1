"""The README works as written: its shell examples, run in order in one bash session against a fresh
`make run`, as a newcomer would paste them. A README that stops working fails `make test`.

A block that cannot run here (it needs an AWS account, or is `make run` itself) is marked by the HTML
comment NOT_RUN on the line before its fence; every other ```sh block runs."""

import contextlib
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

NOT_RUN = "<!-- not run by tests/e2e/test_readme.py"
FENCED = re.compile(r"^(<!--[^\n]*-->\n)?```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# Stricter than a person at a terminal: the first failing command stops the run, and so does an API answer
# of 4xx or 5xx (its body is still printed), so an example that answers an error fails the test.
PROLOGUE = """\
set -Eeuo pipefail
shopt -s inherit_errexit
trap 'echo "README example failed (exit $?): $BASH_COMMAND" >&2' ERR
curl() { command curl --fail-with-body --write-out '\\n' "$@"; }
"""


def examples(markdown: str) -> list[str]:
    return [code for marker, code in FENCED.findall(markdown) if not marker.startswith(NOT_RUN)]


def test_examples_are_found_and_deploy_only_ones_skipped():
    text = "```sh\nmake run\n```\n<!-- not run by tests/e2e/test_readme.py: AWS -->\n```sh\nsam deploy\n```\n"
    assert examples(text) == ["make run\n"]


def run(script: str, stack: Stack, log: Path, timeout: float = 240) -> int | str:
    """bash's exit status running script against stack, its output in log."""
    env = {
        # A fresh shell's, not a sub-make's (`make test` runs this): `make -s token` prints the token alone.
        **{k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")},
        "PORT": str(stack.port),
        "MQTT_PORT": str(stack.mqtt_port),
        "MOTO_PORT": str(stack.moto_port),
        "OCPP_PORT": str(stack.ocpp_port),
    }
    with log.open("w") as out:
        # Its own session, so that what the examples start in the background (a simulated charger) is
        # stopped with it; output to a file, which that charger may keep open after bash is done.
        shell = subprocess.Popen(  # noqa: S603 - the README's own examples
            ["bash", "-c", script],  # noqa: S607 - bash from PATH, as the reader's
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return shell.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"timeout ({timeout:g} s)"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(shell.pid, signal.SIGTERM)
            shell.wait()


def test_the_readme_examples_run_in_order_against_a_fresh_make_run(tmp_path):
    script = PROLOGUE + "\n".join(examples((ROOT / "README.md").read_text()))
    log = tmp_path / "readme.log"
    stack = Stack(seed=True)  # `make run`, seeded, on free ports
    try:
        code = run(script, stack, log)
        output = log.read_text()
        assert code == 0, f"{output}\n--- the stack's last output:\n{stack.output()[-2000:]}"
        # What the examples promise: dave confirmed his work address, and charger CP-1 accepts his card
        _, mine, _ = stack.call("GET", "/me/memberships", user="dave", email="dave@example.com")
        by_email = [m["status"] for m in mine["items"] if m["connection"]["approval_mode"] == "email_domain"]
        assert by_email == ["active"], output
        assert "ACCEPTED: card 04A2B3C4 at CP-1" in output, output
    finally:
        stack.stop()
