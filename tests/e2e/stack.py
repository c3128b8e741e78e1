"""Start `make run`'s stack (python -m infra.local) as a separate process on free ports and drive it over
HTTP, as a user would. Used by the end-to-end tests and the benchmarks."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from infra import template
from infra.local.auth import mint
from infra.provision import provision
from tests.support.ports import free_port

ROOT = template.ROOT


def template_with_recorder(recorder_file: Path, directory: Path) -> Path:
    """template.yaml plus a function that records what the table stream and the `+/in` topic deliver."""
    document = template.load()
    document = json.loads(json.dumps(document))  # a copy
    document["Resources"]["RecorderFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "tests/e2e/recorder/",
            "Handler": "app.handler",
            "Environment": {"Variables": {"RECORDER_FILE": str(recorder_file)}},
            "Events": {
                "Memberships": {
                    "Type": "DynamoDB",
                    "Properties": {
                        "Stream": {"Fn::GetAtt": "ConnectionsTable.StreamArn"},
                        "StartingPosition": "LATEST",
                        "BatchSize": 10,
                        "MaximumRetryAttempts": 2,
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        "FilterCriteria": {
                            "Filters": [
                                {
                                    "Pattern": json.dumps(
                                        {
                                            "dynamodb": {
                                                "NewImage": {"kind": {"S": ["connection", "membership"]}}
                                            }
                                        }
                                    )
                                }
                            ]
                        },
                    },
                }
            },
        },
    }
    document["Resources"]["StationMessagesRule"] = {
        "Type": "AWS::IoT::TopicRule",
        "Properties": {
            "TopicRulePayload": {
                "Sql": "SELECT *, topic(1) AS station_id FROM '+/in'",
                "Actions": [{"Lambda": {"FunctionArn": {"Fn::GetAtt": "RecorderFunction.Arn"}}}],
            }
        },
    }
    path = directory / "template.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


class Stack:
    def __init__(self, *, template_path: Path | None = None, seed: bool = False, ports: tuple | None = None):
        self.port, self.mqtt_port, self.moto_port, self.ocpp_port = ports or tuple(
            free_port() for _ in range(4)
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.ocpp_url = f"ws://127.0.0.1:{self.ocpp_port}"  # chargers connect to <ocpp_url>/<charger id>
        env = {
            **os.environ,
            "PORT": str(self.port),
            "MQTT_PORT": str(self.mqtt_port),
            "MOTO_PORT": str(self.moto_port),
            "OCPP_PORT": str(self.ocpp_port),
            "SEED": "1" if seed else "0",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("AWS_ENDPOINT_URL", None)
        if template_path:
            env["CONNECTIONS_TEMPLATE"] = str(template_path)
        self.log = tempfile.NamedTemporaryFile(prefix="stack-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "infra.local"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited:\n{self.output()}")
            if "Ready:" in self.output():
                return
            time.sleep(0.1)
        raise RuntimeError(f"the stack did not start in {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def children(self) -> set[int]:
        """Processes the stack started (its Lambda workers), from /proc."""
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.add(int(stat.parent.name))
        return found

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def provision(self, station_id: str, organization_id: str) -> None:
        """The installer's step (infra.provision) on this stack's moto: the charger may then be registered."""
        provision(
            station_id,
            organization_id,
            endpoint_url=f"http://127.0.0.1:{self.moto_port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto takes any
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None = None,
        email: str | None = None,
        body=None,
        headers: dict | None = None,
    ) -> tuple[int, dict, dict]:
        request_headers = {"content-type": "application/json", **(headers or {})}
        if user:
            request_headers["authorization"] = f"Bearer {token(user, email)}"
        request = urllib.request.Request(  # noqa: S310 - our own local stack
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers=request_headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                raw, status, response_headers = answer.read(), answer.status, dict(answer.headers)
        except urllib.error.HTTPError as error:
            raw, status, response_headers = error.read(), error.code, dict(error.headers)
        return status, (json.loads(raw) if raw else {}), {k.lower(): v for k, v in response_headers.items()}


_tokens: dict[tuple[str, str | None], str] = {}


def token(user: str, email: str | None = None) -> str:
    if (user, email) not in _tokens:
        _tokens[(user, email)] = mint(user, email)
    return _tokens[(user, email)]
