"""The cold-start budget, as a deterministic guard (bench/import_time.py has the timings): importing a
handler the way Lambda does loads neither boto3 (nor its s3transfer) nor the X-Ray SDK.
connections.platform.http defers both to the requests that need them (an Idempotency-Key, a trace X-Ray
samples)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.template import resources

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "functions" / "shared"
HEAVY = ("boto3", "s3transfer", "aws_xray_sdk")

# Lambda puts the function's code first on sys.path, the layer after it, and imports the handler's module.
PROBE = """
import importlib, json, sys
sys.path[:0] = {paths!r}
module = importlib.import_module({module!r})
assert callable(getattr(module, {attribute!r}))
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _functions() -> list[tuple[str, str, str]]:
    return sorted(
        (name, fn["Properties"]["CodeUri"], fn["Properties"]["Handler"])
        for name, fn in resources("AWS::Serverless::Function").items()
    )


def _lambda_env() -> dict[str, str]:
    # As deployed: tracing is not disabled (template.yaml sets Tracing: Active), no endpoint override.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "_X_AMZN", "PYTHON"))
    }
    env.update(
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_LAMBDA_FUNCTION_NAME="connections-test",
        TABLE_NAME="connections",
        IDEMPOTENCY_TABLE_NAME="connections-idempotency",
        POWERTOOLS_SERVICE_NAME="connections",
        POWERTOOLS_METRICS_NAMESPACE="Connections",
    )
    return env


def probe_as_lambda(function: str, code_dir: Path, code: str):
    """Run `code` in a fresh interpreter, as Lambda imports the function; what it printed last, as JSON."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-I", "-c", code],
        cwd=code_dir,
        env=_lambda_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"importing {function}'s handler failed:\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_template_has_functions_to_check():
    assert len(_functions()) >= 2


@pytest.mark.parametrize(("function", "code_uri", "handler"), _functions(), ids=[f[0] for f in _functions()])
def test_importing_a_handler_loads_no_boto3_nor_xray_sdk(function, code_uri, handler):
    module, attribute = handler.rsplit(".", 1)
    code_dir = ROOT / code_uri
    code = PROBE.format(paths=[str(code_dir), str(SHARED)], module=module, attribute=attribute, heavy=HEAVY)
    loaded = probe_as_lambda(function, code_dir, code)
    assert loaded == [], f"{function}: importing {handler} loads {', '.join(loaded)} (defer it to first use)"
