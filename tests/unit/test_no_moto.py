"""Unit tests need no AWS: collecting them (their conftests, support modules and imports) with moto made
unimportable must work, so `pytest tests/unit` starts no moto server."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WITHOUT_MOTO = """
import sys, pytest

class NoMoto:
    def find_spec(self, name, path=None, target=None):
        if name == "moto" or name.startswith("moto."):
            raise ImportError(f"a unit test imported {name}")

sys.meta_path.insert(0, NoMoto())
sys.exit(pytest.main(["tests/unit", "--collect-only", "-q", "-p", "no:cacheprovider"]))
"""


def test_the_unit_tests_are_collected_without_moto():
    done = subprocess.run(  # noqa: S603 - our own interpreter and tests
        [sys.executable, "-c", WITHOUT_MOTO], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "tests collected" in done.stdout, done.stdout[-3000:]
