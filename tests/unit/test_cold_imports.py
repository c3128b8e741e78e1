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

from infra.local.functions import environment
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


# What template.yaml's Refs stand for once deployed (a table's name, a parameter's value).
DEPLOYED = {
    "ConnectionsTable": "connections",
    "IdempotencyTable": "connections-idempotency",
    "IotDataEndpoint": "https://example-ats.iot.us-east-1.amazonaws.com",
    "SenderAddress": "no-reply@connections.example",
    "EmailConfigurationSet": "connections-email",
}


def lambda_env(function: str) -> dict[str, str]:
    """The function's environment as deployed: the variables template.yaml gives it and the runtime's.
    Tracing is not disabled (template.yaml sets Tracing: Active), and no endpoint is overridden."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "_X_AMZN", "PYTHON"))
    }
    for name in ("TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "SENDER_ADDRESS", "EMAIL_CONFIGURATION_SET"):
        env.pop(name, None)  # only the template's
    env.update(
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_LAMBDA_FUNCTION_NAME="connections-test",
        **environment(function, DEPLOYED),
    )
    return env


def run_as_lambda(code_dir: Path, code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter in the function's folder, as Lambda imports the function."""
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-I", "-c", code], cwd=code_dir, env=env, capture_output=True, text=True, check=False
    )


def probe_as_lambda(function: str, code_dir: Path, code: str):
    """Run `code` as Lambda imports the function; what it printed last, as JSON."""
    done = run_as_lambda(code_dir, code, lambda_env(function))
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
