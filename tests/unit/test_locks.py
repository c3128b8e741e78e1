"""Every environment is installed from a lock with hashes that `make lock` (uv pip compile) writes from its
direct requirements: the layer's (which `sam build` ships), the dev environment's (constrained by the
layer's, so that the tests run Lambda's versions) and the SAM CLI's. pip installs them with
--require-hashes, so a package changed on the index fails the install instead of entering the build."""

import importlib.metadata
import re
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from tests.support import built

ROOT = Path(__file__).resolve().parents[2]
LAYER = built.LOCK
DEV, SAM = ROOT / "requirements-dev.txt", ROOT / "requirements-sam.txt"
LOCKS = [LAYER, DEV, SAM]


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def entries(lock: Path) -> list[str]:
    """The lock's entries, one string each (its continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", lock.read_text())
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def pins(lock: Path) -> dict[str, tuple[str, Marker | None]]:
    """Each locked package: its version and, for a package of some platforms only, their marker."""
    found = {}
    for entry in entries(lock):
        requirement = Requirement(entry.split(" --hash=", 1)[0])
        (specifier,) = requirement.specifier
        found[_name(requirement.name)] = (specifier.version, requirement.marker)
    return found


def direct(requirements_in: Path) -> list[Requirement]:
    """What a .in file asks for by name, with the files it includes (-r); not its constraints (-c)."""
    found = []
    for line in requirements_in.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += direct(requirements_in.parent / line.removeprefix("-r ").strip())
        elif line and not line.startswith("-"):
            found.append(Requirement(line))
    return found


@pytest.mark.parametrize("lock", LOCKS, ids=[str(lock.relative_to(ROOT)) for lock in LOCKS])
def test_every_package_of_a_lock_is_pinned_with_its_hashes(lock):
    for entry in entries(lock):
        assert re.match(r"^[A-Za-z0-9._-]+(\[[^]]*\])?==\S+", entry), f"{lock.name}: not pinned: {entry}"
        assert " --hash=sha256:" in entry, f"{lock.name}: no hash for {entry.split()[0]}: run `make lock`"


@pytest.mark.parametrize("lock", LOCKS, ids=[str(lock.relative_to(ROOT)) for lock in LOCKS])
def test_a_lock_pins_its_direct_requirements_at_their_versions(lock):
    locked = pins(lock)
    for requirement in direct(lock.with_suffix(".in")):
        name = _name(requirement.name)
        assert name in locked, f"{lock.name} lacks {requirement}: run `make lock`"
        assert requirement.specifier.contains(locked[name][0]), (
            f"{lock.name} pins {name}=={locked[name][0]}, the .in asks for {requirement}: run `make lock`"
        )


def test_the_dev_environment_locks_the_layers_versions():
    layer, dev = pins(LAYER), pins(DEV)
    differ = {name: (version, dev.get(name, (None,))[0]) for name, (version, _) in layer.items()}
    assert {name: v for name, v in differ.items() if v[0] != v[1]} == {}


def test_the_running_dev_environment_is_the_lock():
    """What `make venv` installed is the dev lock, package for package (for this platform)."""
    installed = {_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    wanted = {
        name: version for name, (version, marker) in pins(DEV).items() if not marker or marker.evaluate()
    }
    assert {n: (v, installed.get(n)) for n, v in wanted.items() if installed.get(n) != v} == {}


def test_sam_build_ships_exactly_the_layers_lock():
    """`make build` (sam build, whose pip reads the lock's hashes) laid out the layer with the lock's
    versions, no more and no fewer: read from the built layer's dist-info."""
    layer = built.BUILD / built.LAYER / "python"
    assert layer.is_dir(), f"{layer} is missing: run `make build` (sam build) first"
    shipped = {
        _name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions(path=[str(layer)])
    }
    assert shipped == {name: version for name, (version, _) in pins(LAYER).items()}
