"""SnapStart for the API functions: each publishes a version (AutoPublishAlias) that Lambda initializes and
snapshots, and every route invokes that alias, as SAM translates the template. A snapshot is resumed by
many execution environments, so what runs at import must make nothing random or unique (it would be shared
by all of them) and open no connection (it would be stale after a restore)."""

import ast
import json
import os
import subprocess
from functools import cache

import pytest

from infra.template import TEMPLATE, resources, routes
from tests.unit.test_cold_imports import ROOT, SHARED, probe_as_lambda

FUNCTIONS = resources("AWS::Serverless::Function")
API = sorted({route.function for route in routes()})
ALIAS = "live"

# SAM's own translation of the template (what CloudFormation deploys), in the SAM CLI's environment; local
# code folders replaced by S3 locations, as `sam validate` does.
TRANSLATE = """
import json, sys
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

class NoManagedPolicies:
    def load(self):
        return {}

template = yaml_parse(open(sys.argv[1]).read())
for resource in template["Resources"].values():
    for key in ("CodeUri", "ContentUri"):
        if key in resource.get("Properties", {}):
            resource["Properties"][key] = "s3://bucket/key"
parameters = {
    "IotDataEndpoint": "https://iot.example", "SenderAddress": "a@b.example", "AlarmEmail": "c@d.example"
}
json.dump(transform(template, parameters, NoManagedPolicies()), sys.stdout)
"""

# Lambda imports the handler with every way to open a socket refused.
NO_SOCKETS = """
import importlib, json, socket, sys
sys.path[:0] = {paths!r}

def refuse(*args, **kwargs):
    raise OSError("a socket opened at import: SnapStart would snapshot it, and restore it stale")

socket.socket.__init__ = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
module = importlib.import_module({module!r})
assert callable(getattr(module, {attribute!r}))
print(json.dumps("imported"))
"""

# Calls whose result is random, unique or the current time: at import, every restored environment would
# share it.
UNIQUE = (
    "uuid.",
    "random.",
    "secrets.",
    "os.urandom",
    "time.time",
    "datetime.datetime.now",
    "datetime.date.today",
    "connections.platform.table.now",
)
SERVICE_CODE = sorted((ROOT / "functions").rglob("*.py"))


@cache
def translated() -> dict:
    sam_python = ROOT / ".sam-venv" / "bin" / "python"
    assert sam_python.exists(), "the SAM CLI's environment is missing: run `make template`"
    done = subprocess.run(  # noqa: S603 - the SAM CLI's interpreter, our code
        [str(sam_python), "-c", TRANSLATE, str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)["Resources"]


def import_time_calls(source: str) -> list[str]:
    """The dotted names of the calls a module makes when it is imported (its body, class bodies, decorators
    and default values; not the bodies of functions), imports resolved to their modules."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name: a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            aliases |= {a.asname or a.name: f"{node.module}.{a.name}" for a in node.names}

    def dotted(node: ast.expr) -> str:
        if isinstance(node, ast.Attribute):
            return f"{dotted(node.value)}.{node.attr}"
        return aliases.get(node.id, node.id) if isinstance(node, ast.Name) else "?"

    def visit(node: ast.AST) -> list[str]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            run_now = [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            if not isinstance(node, ast.Lambda):
                run_now += node.decorator_list
            return [name for child in run_now for name in visit(child)]
        found = [dotted(node.func)] if isinstance(node, ast.Call) else []
        return found + [name for child in ast.iter_child_nodes(node) for name in visit(child)]

    return visit(tree)


def test_the_api_functions_publish_versions_with_snapstart():
    assert len(API) >= 4
    for name in API:
        props = FUNCTIONS[name]["Properties"]
        assert props.get("AutoPublishAlias") == ALIAS, f"{name} publishes no version"
        assert props.get("SnapStart") == {"ApplyOn": "PublishedVersions"}, f"{name} has no SnapStart"


def test_every_route_and_its_permission_invoke_the_alias():
    deployed = translated()
    (api,) = [r for r in deployed.values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    targets = {}
    for path, methods in api["Properties"]["Body"]["paths"].items():
        for method, operation in methods.items():
            targets[f"{method.upper()} {path}"] = operation["x-amazon-apigateway-integration"]["uri"][
                "Fn::Sub"
            ]
    assert len(targets) == len(routes())
    for route in routes():
        assert f"/functions/${{{route.function}Alias{ALIAS}}}/invocations" in targets[route.route_key], route
    permissions = [r["Properties"] for r in deployed.values() if r["Type"] == "AWS::Lambda::Permission"]
    invoked = {p["FunctionName"]["Ref"] for p in permissions if p["Principal"] == "apigateway.amazonaws.com"}
    assert invoked == {f"{name}Alias{ALIAS}" for name in API}
    for name in API:
        assert deployed[f"{name}Alias{ALIAS}"]["Type"] == "AWS::Lambda::Alias"
        assert deployed[name]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}


@pytest.mark.parametrize("function", API)
def test_importing_an_api_handler_opens_no_socket(function):
    props = FUNCTIONS[function]["Properties"]
    module, attribute = props["Handler"].rsplit(".", 1)
    code_dir = ROOT / props["CodeUri"]
    code = NO_SOCKETS.format(paths=[str(code_dir), str(SHARED)], module=module, attribute=attribute)
    assert probe_as_lambda(function, code_dir, code) == "imported"


def test_the_import_time_check_finds_what_it_looks_for():
    found = import_time_calls(
        "import uuid\nfrom datetime import datetime\nTOKEN = uuid.uuid4().hex\n"
        "class A:\n    at = datetime.now()\n"
        "def later(x=uuid.uuid1()):\n    return uuid.uuid4()\n"
    )
    assert [name for name in found if name.startswith(UNIQUE)] == [
        "uuid.uuid4",
        "datetime.datetime.now",
        "uuid.uuid1",
    ]


@pytest.mark.parametrize("path", SERVICE_CODE, ids=[str(p.relative_to(ROOT)) for p in SERVICE_CODE])
def test_nothing_random_or_unique_is_made_at_import(path):
    made = [name for name in import_time_calls(path.read_text()) if name.startswith(UNIQUE)]
    assert made == [], f"{path.relative_to(ROOT)} calls {made} at import: every restored snapshot shares it"


def test_the_service_draws_no_number_from_the_random_module():
    """random's state is in the snapshot, so every restored environment would draw the same numbers;
    secrets and uuid read the OS's entropy at each call."""
    users = [p for p in SERVICE_CODE if "random" in _imported_modules(p.read_text())]
    assert users == []


def _imported_modules(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    return modules
