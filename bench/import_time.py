"""Cold import time of each function's handler module, against a bare `import boto3`.

    .venv/bin/python bench/import_time.py           (the second half of `make bench`)
    .venv/bin/python bench/import_time.py --built   (what `make build` built, as Lambda runs it)

Each import runs in a fresh interpreter, as on a cold start, with the function's CodeUri folder and then
the layer on sys.path; with --built, from .aws-sam/build with the layer's packages only (tests/support/
built.py), tracing on and sampled (the API functions' lines then say what loading the Tracer adds). Runs
are interleaved after a warm-up that compiles every .pyc; medians are compared. Target: a handler imports
in at most 1.6x a bare `import boto3` and loads neither boto3 nor aws_xray_sdk (exit 1 otherwise).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from functools import cache

from common import ROOT, table

from infra.template import resources
from tests.support import built

SHARED = ROOT / "functions" / "shared"

# Every function of template.yaml: logical id -> (CodeUri, handler module); the API ones also get the
# breakdown of where their import time goes (the stages below are the API functions' dependencies).
FUNCTIONS = {
    name: (f["Properties"]["CodeUri"].rstrip("/"), f["Properties"]["Handler"].rsplit(".", 1)[0])
    for name, f in sorted(resources("AWS::Serverless::Function").items())
}
API = {
    name
    for name, f in resources("AWS::Serverless::Function").items()
    if any(e["Type"] == "HttpApi" for e in f["Properties"].get("Events", {}).values())
}
RUNS, TARGET = 7, 1.6
WATCHED = ("boto3", "botocore", "s3transfer", "aws_xray_sdk", "pynamodb", "pydantic")
MUST_NOT_LOAD = ("boto3", "aws_xray_sdk")

# Where a handler's import time goes: the same imports, split in stages. The last stage is the service's
# own code.
STAGES = {
    "botocore + PynamoDB": ["pynamodb.models", "pynamodb.transactions"],
    "Powertools + pydantic": [
        "pydantic",
        "aws_lambda_powertools",
        "aws_lambda_powertools.event_handler.api_gateway",
        "aws_lambda_powertools.event_handler.openapi.params",
        "aws_lambda_powertools.metrics",
    ],
    "service code": ["app"],
}
# Runs in the fresh interpreter: sys.path as Lambda builds it (the function's code, then the layer), then
# the imports, timed on their own (the interpreter's start-up is the same for every target), by stage.
PROBE = """
import importlib, json, sys, time
sys.path[:0] = {paths!r}
times = []
for modules in {stages!r}:  # each stage's time excludes what the stages before it loaded
    start = time.perf_counter()
    for module in modules:
        importlib.import_module(module)
    times.append(time.perf_counter() - start)
loaded = [m for m in {watched!r} if m in sys.modules]
tracer = None
if {tracer!r}:  # what connections.platform.http does on the first invocation X-Ray samples
    start = time.perf_counter()
    from aws_lambda_powertools import Tracer
    Tracer()
    tracer = time.perf_counter() - start
print(json.dumps({{"seconds": sum(times), "stages": times, "loaded": loaded, "tracer": tracer}}))
"""


def lambda_env() -> dict[str, str]:
    """The environment a function of template.yaml runs with (values that matter at import; NotifyFunction
    checks its sender at start). PYTHON* variables need no removing: the probes run isolated (-I)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "_X_AMZN"))}
    env.update(AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512")
    env.update(AWS_LAMBDA_FUNCTION_NAME="connections-bench", AWS_EXECUTION_ENV="AWS_Lambda_python3.13")
    env.update(TABLE_NAME="connections", IDEMPOTENCY_TABLE_NAME="connections-idempotency")
    env.update(SENDER_ADDRESS="no-reply@connections.example", EMAIL_CONFIGURATION_SET="connections-email")
    env.update(POWERTOOLS_SERVICE_NAME="connections", POWERTOOLS_METRICS_NAMESPACE="Connections")
    return env | {"POWERTOOLS_LOG_LEVEL": "INFO"}


@cache
def built_layer() -> list[str]:
    return [str(p) for p in built.layer_paths()]


def probe(target: str, staged: bool = False, from_build: bool = False) -> dict:
    """Import `target` ("boto3" or a function's logical id) in a fresh interpreter; `from_build`: from
    .aws-sam/build, with the layer's packages only (-S: no site-packages) and tracing on, sampled."""
    env, flags = lambda_env(), ["-I", "-S"] if from_build else ["-I"]
    if target == "boto3":
        cwd, paths, module = ROOT, built_layer()[:1] if from_build else [], "boto3"
    elif from_build:
        cwd, module = built.code(target), FUNCTIONS[target][1]
        paths = [str(cwd), *built_layer()]
        env.update(built.runtime_env(target, built.new_trace()))
    else:
        code_uri, module = ROOT / FUNCTIONS[target][0], FUNCTIONS[target][1]
        cwd, paths = code_uri, [str(code_uri), str(SHARED)]
    stages, tracer = (list(STAGES.values()), False) if staged else ([[module]], from_build and target in API)
    code = PROBE.format(paths=paths, stages=stages, watched=WATCHED, tracer=tracer)
    command = [sys.executable, *flags, "-c", code]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"importing {target} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--built", action="store_true", help="from .aws-sam/build, as Lambda runs it")
    from_build = parser.parse_args().built
    targets = ["boto3", *FUNCTIONS]
    for target in targets:  # warm-up: compiles every .pyc, fills the OS file cache
        probe(target, from_build=from_build)
    seconds: dict[str, list[float]] = {t: [] for t in targets}
    tracer: dict[str, list[float]] = {f: [] for f in API}
    stages: dict[str, list[list[float]]] = {f: [] for f in API}
    loaded: dict[str, set[str]] = {t: set() for t in targets}
    for _ in range(RUNS):
        for target in targets:
            result = probe(target, from_build=from_build)
            seconds[target].append(result["seconds"])
            loaded[target].update(result["loaded"])
            if result["tracer"] is not None:
                tracer[target].append(result["tracer"])
        for function in API:
            stages[function].append(probe(function, staged=True, from_build=from_build)["stages"])
    median = {t: statistics.median(s) for t, s in seconds.items()}

    where = ".aws-sam/build, the layer's packages only, tracing on and sampled" if from_build else "sources"
    print(f"cold import from {where}, median of {RUNS} fresh interpreters (interleaved, .pyc compiled):")
    print(f"  import boto3: {median['boto3'] * 1000:.1f} ms; target: ratio <= {TARGET}, and not loaded:")
    print(f"  {', '.join(MUST_NOT_LOAD)}. loaded: which of {', '.join(WATCHED)} the import loaded;")
    print("  + Tracer: loading it (first sampled invocation, --built); the stages (API functions) and deps:")
    print("  their ratio to boto3 without the service code")
    head = ["handler", "ms", "ratio", "", "loaded", "+ Tracer", *STAGES, "deps"]
    rows, ok = [head], True
    for function, (code_uri, module) in FUNCTIONS.items():
        ratio = median[function] / median["boto3"]
        within = ratio <= TARGET and not any(m in loaded[function] for m in MUST_NOT_LOAD)
        ok = ok and within
        row = [f"{code_uri}/{module}.py", f"{median[function] * 1000:.1f}", f"{ratio:.2f}"]
        row += ["ok" if within else "FAIL", ", ".join(m for m in WATCHED if m in loaded[function]) or "-"]
        if function in API:
            split = [statistics.median(run[i] for run in stages[function]) for i in range(len(STAGES))]
            row.append(f"+{statistics.median(tracer[function]) * 1000:.0f} ms" if tracer[function] else "")
            row += [f"{t * 1000:.0f} ms" for t in split] + [f"{sum(split[:-1]) / median['boto3']:.2f}"]
        rows.append(row + [""] * (len(head) - len(row)))
    table(rows, indent="  ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
