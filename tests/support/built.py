"""The functions as `sam build` lays them out (.aws-sam/build), run as Lambda runs them: what
tests/integration/test_as_deployed.py and bench/import_time.py --built share.

The built layer is for arm64, whose compiled wheels (pydantic-core) do not load on x86_64: the layer's lock
is installed for this machine once (cached beside the build, keyed by the lock's hash) and put before the
built layer on the path, whose distributions must be exactly the lock's."""

import hashlib
import importlib.metadata
import platform
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from infra.template import ROOT, resources

BUILD = ROOT / ".aws-sam" / "build"
((LAYER, _layer),) = resources("AWS::Serverless::LayerVersion").items()
LOCK = ROOT / _layer["Properties"]["ContentUri"] / "requirements.txt"


def installed_lock() -> Path:
    """The layer's lock installed for this machine, once per lock (sam build replaces .aws-sam/build only)."""
    machine = platform.machine()
    target = ROOT / ".aws-sam" / f"layer-{machine}-{hashlib.sha256(LOCK.read_bytes()).hexdigest()[:12]}"
    if not target.exists():
        for old in target.parent.glob(f"layer-{machine}-*"):
            shutil.rmtree(old)
        partial = target.with_name(f"{target.name}.partial")
        subprocess.run(  # noqa: S603 - our own interpreter, the lock's pins
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
            + ["--only-binary=:all:", "--target", str(partial), "-r", str(LOCK)],
            check=True,
        )
        partial.rename(target)  # only a complete install is ever used
    return target


def layer_paths() -> list[Path]:
    """What the functions' sys.path holds after their own code: the layer's packages for this machine, then
    the built layer (the service's own `connections` package, and arm64 packages the first entry hides)."""
    packages, layer = installed_lock(), BUILD / LAYER / "python"
    assert layer.is_dir(), f"{layer} is missing: run `make build` (sam build) first"
    assert _distributions(layer) == _distributions(packages), (
        f"{layer} does not hold exactly the packages of {LOCK.relative_to(ROOT)}: run `make build` again"
    )
    return [packages, layer]


def code(function: str) -> Path:
    folder = BUILD / function
    assert folder.is_dir(), f"{folder} is missing: run `make build` (sam build) first"
    return folder


def new_trace() -> str:
    """An X-Ray trace id (1-<epoch seconds, hex>-<96 random bits, hex>)."""
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def runtime_env(function: str, trace: str, xray_daemon: str = "127.0.0.1:2000") -> dict[str, str]:
    """What Lambda's runtime sets for `function` (not its template Environment), on an invocation X-Ray
    samples in `trace` (template.yaml: Tracing: Active), in an image without a time-zone database."""
    return {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": str(code(function)),
        "_HANDLER": resources("AWS::Serverless::Function")[function]["Properties"]["Handler"],
        "TZ": ":UTC",
        "_X_AMZN_TRACE_ID": f"Root={trace};Parent={secrets.token_hex(8)};Sampled=1",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": xray_daemon,
        # zoneinfo then has only what the layer ships (tzdata), as in the runtime image.
        "PYTHONTZPATH": "",
    }


def _distributions(folder: Path) -> set[tuple[str, str]]:
    found = importlib.metadata.distributions(path=[str(folder)])
    return {(re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(), d.version) for d in found}
