"""Local Lambda: each function of template.yaml runs in its own pool of worker processes (its
"containers"), each of which imports the handler once, as Lambda does, with the environment the template
gives it and the table names resolved to the local ones. Concurrent invocations of one function run in
different processes, so they race the way they do in AWS."""

import importlib.util
import os
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from infra import template
from infra.template import ROOT

SHARED = ROOT / "functions" / "shared"

_handler: Callable[[dict, object], object] | None = None  # the function's, once loaded
_name = ""


@dataclass
class Invocation:
    result: object = None
    error: str | None = None
    handler_ms: float = 0.0  # time inside the handler
    aws_ms: float = 0.0  # of which waiting for AWS (moto) calls
    aws_calls: int = 0


class _Context:
    def __init__(self, name: str, timeout_s: int):
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_aws: dict[str, Any] = {"ms": 0.0, "calls": 0}


def _load(name: str, code_uri: str, handler: str, env: dict[str, str]) -> None:
    """Worker start: what Lambda's runtime does at a cold start."""
    global _handler, _name
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.environ.update(env)
    sys.path[:0] = [str(ROOT / code_uri), str(SHARED)]
    module_name, function_name = handler.rsplit(".", 1)
    spec = importlib.util.spec_from_file_location(module_name, ROOT / code_uri / f"{module_name}.py")
    assert spec is not None and spec.loader is not None  # a path to a .py file
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    _handler, _name = getattr(module, function_name), name
    _time_aws_calls()


def _time_aws_calls() -> None:
    # Measures how long the function waits on AWS (moto): the runtime's instrument, not the function's.
    from botocore.endpoint import Endpoint

    send = Endpoint._send

    def timed(self, request):
        start = time.perf_counter()
        try:
            return send(self, request)
        finally:
            _aws["ms"] += (time.perf_counter() - start) * 1000
            _aws["calls"] += 1

    Endpoint._send = timed


def _invoke(event: dict, timeout_s: int) -> Invocation:
    _aws["ms"], _aws["calls"] = 0.0, 0
    assert _handler is not None  # loaded by the process's initializer
    start = time.perf_counter()
    try:
        result, error = _handler(event, _Context(_name, timeout_s)), None
    except Exception:  # noqa: BLE001 - a function error is reported to the caller, as Lambda does
        result, error = None, traceback.format_exc()
    return Invocation(result, error, (time.perf_counter() - start) * 1000, _aws["ms"], _aws["calls"])


def _resolve(value, names: dict[str, str]):
    """The local value of an environment variable in the template (Ref to a table -> its local name, Ref to
    a parameter or another resource -> the local value given for it)."""
    if isinstance(value, dict) and "Ref" in value:
        return names.get(value["Ref"])
    return value if isinstance(value, str | int | float | bool) else None


def environment(name: str, local_names: dict[str, str]) -> dict[str, str]:
    """The Environment template.yaml gives function `name` (its Globals' and its own), with each Ref given
    its local value from `local_names` (tables, parameters); a variable whose Ref has none is left out."""
    globals_ = template.load().get("Globals", {}).get("Function", {})
    variables = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **template.resources("AWS::Serverless::Function")[name]["Properties"]
        .get("Environment", {})
        .get("Variables", {}),
    }
    resolved = ((k, _resolve(v, local_names)) for k, v in variables.items())
    return {k: str(v) for k, v in resolved if v is not None}


class LocalFunction:
    def __init__(self, name: str, properties: dict, env: dict[str, str], concurrency: int):
        self.name = name
        self.timeout = int(properties.get("Timeout", 10))
        self._pool = ProcessPoolExecutor(
            max_workers=concurrency,
            mp_context=get_context("spawn"),
            initializer=_load,
            initargs=(name, properties["CodeUri"], properties["Handler"], env),
        )

    def warm(self, concurrency: int) -> None:
        """Start every worker now (a cold start each), so that they are past their imports, with Ctrl-C
        left to the parent, before anyone calls; a function's first requests are then warm."""
        started = [self._pool.submit(time.sleep, 0.3) for _ in range(concurrency)]
        for worker in started:
            worker.result()

    def invoke(self, event: dict) -> Invocation:
        return self._pool.submit(_invoke, event, self.timeout).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def load_functions(
    local_names: dict[str, str], extra_env: dict[str, str], concurrency: int = 2
) -> dict[str, LocalFunction]:
    """Every function of the template, ready to invoke, keyed by logical id. `local_names`: the local value
    of each Ref the functions' environment makes (tables, parameters)."""
    globals_ = template.load().get("Globals", {}).get("Function", {})
    functions = {}
    for name, resource in template.resources("AWS::Serverless::Function").items():
        properties = {**globals_, **resource["Properties"]}
        env = {**environment(name, local_names), **extra_env, "AWS_LAMBDA_FUNCTION_NAME": name}
        functions[name] = LocalFunction(name, properties, env, concurrency)
    for function in functions.values():
        function.warm(concurrency)
    return functions
