"""Reads template.yaml so that the local stack and the tests build exactly what `sam deploy` builds:
the tables (keys, indexes, stream, TTL) and the API routes with the function that serves each."""

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# The end-to-end tests point this at template.yaml plus a recording function (tests/e2e/stack.py).
TEMPLATE = Path(os.environ.get("CONNECTIONS_TEMPLATE", ROOT / "template.yaml"))


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags (!Ref, !Sub, !GetAtt ...) as plain data."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {f"Fn::{suffix}" if suffix != "Ref" else "Ref": value}


_CfnLoader.add_multi_constructor("!", _tag)


@cache
def load() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def resources(kind: str) -> dict[str, dict]:
    return {name: r for name, r in load()["Resources"].items() if r["Type"] == kind}


def create_table_kwargs(logical_id: str, table_name: str) -> dict:
    """boto3 `create_table` arguments for a table of the template, under a local name."""
    props = resources("AWS::DynamoDB::Table")[logical_id]["Properties"]
    kwargs = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in props:
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if "StreamSpecification" in props:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return kwargs


def ttl_attribute(logical_id: str) -> str | None:
    spec = resources("AWS::DynamoDB::Table")[logical_id]["Properties"].get("TimeToLiveSpecification")
    return spec["AttributeName"] if spec and spec.get("Enabled") else None


def create_tables(dynamodb, names: dict[str, str]) -> None:
    """Create every table of the template on `dynamodb` (a boto3 client), named by `names[logical_id]`."""
    for logical_id, table_name in names.items():
        dynamodb.create_table(**create_table_kwargs(logical_id, table_name))
        attribute = ttl_attribute(logical_id)
        if attribute:
            dynamodb.update_time_to_live(
                TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )


@dataclass(frozen=True)
class Route:
    function: str  # logical id of the function
    method: str
    path: str  # API Gateway form, e.g. /connections/{connection_id}
    code_uri: str
    handler: str
    authorized: bool = True  # behind the API's JWT authorizer

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method.upper() != self.method:
            return None
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


def routes() -> list[Route]:
    """Every HttpApi event of every function, literal paths first (as API Gateway prefers them)."""
    apis = resources("AWS::Serverless::HttpApi")
    found = []
    for name, fn in resources("AWS::Serverless::Function").items():
        props = fn["Properties"]
        for event in props.get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            spec = event["Properties"]
            api = apis.get(spec.get("ApiId", {}).get("Ref", ""), {}).get("Properties", {})
            default_authorizer = api.get("Auth", {}).get("DefaultAuthorizer")
            authorizer = spec.get("Auth", {}).get("Authorizer", default_authorizer)
            found.append(
                Route(
                    name,
                    spec["Method"].upper(),
                    spec["Path"],
                    props["CodeUri"],
                    props["Handler"],
                    authorized=bool(authorizer) and authorizer != "NONE",
                )
            )
    return sorted(found, key=lambda r: (r.path.count("{"), -len(r.path)))
