"""docs/openapi.json is what the code generates now, and the code serves exactly the routes template.yaml
declares to API Gateway, each from the function the template sends it to."""

import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from infra import openapi
from infra.template import routes

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def generated() -> str:
    return openapi.render()


def _routes_of(document: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def test_docs_openapi_json_is_up_to_date(generated):
    committed = DOC.read_text() if DOC.exists() else ""
    assert committed == generated, "docs/openapi.json is stale: run make openapi"


def test_generation_is_deterministic(generated):
    assert openapi.render() == generated
    assert generated.endswith("}\n")


def test_document_declares_the_cognito_bearer_scheme_for_every_route(generated):
    document = json.loads(generated)
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "Connections API"
    scheme = document["components"]["securitySchemes"]["cognito"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert document["security"] == [{"cognito": []}]


def test_every_template_route_is_in_the_document_and_vice_versa(generated):
    declared = {(r.method, r.path) for r in routes()}
    documented = _routes_of(json.loads(generated))
    assert declared, "template.yaml declares no HttpApi route"
    assert not declared - documented, (
        f"declared in template.yaml but served by no code: {sorted(declared - documented)}"
    )
    assert not documented - declared, (
        f"in the code but not declared in template.yaml: {sorted(documented - declared)}"
    )


def test_each_route_is_served_by_the_function_the_template_sends_it_to():
    # API Gateway invokes the function the template names: a route only the other function serves answers 404.
    modules = openapi.handler_modules()
    for function in {r.function for r in routes()}:
        code_uri = {r.code_uri for r in routes() if r.function == function}.pop()
        module = "functions." + code_uri.strip("/").removeprefix("functions/").replace("/", ".") + ".app"
        assert module in modules, f"{function}: no handler module {module}"
        served = _routes_of(json.loads(modules[module].app.get_openapi_json_schema()))
        declared = {(r.method, r.path) for r in routes() if r.function == function}
        assert served == declared, f"{function}: template and {module} disagree: {sorted(served ^ declared)}"


def test_document_is_valid_openapi_3_1_with_every_reference_resolved(generated):
    # The validator follows every $ref: a reference to a schema the document lacks fails here.
    validate(json.loads(generated))


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_operation_documents_the_answers_every_route_can_give(generated):
    # API Gateway's own 401 and 404, the service's 404 and 422, a body of another type than JSON (415),
    # DynamoDB contention (503 busy) and a bug (500) can answer any route; a body can be invalid JSON (400);
    # a transaction can lose to another (409 busy).
    for method, path, operation in _operations(json.loads(generated)):
        expected = {"401", "404", "415", "422", "500", "503"}
        if "requestBody" in operation:
            expected.add("400")
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            expected.add("409")
        missing = expected - set(operation["responses"])
        assert not missing, f"{method} {path} does not document {sorted(missing)}"


def test_every_error_answer_is_described_in_its_shape(generated):
    # The service's {error, message, fields}; where API Gateway may answer itself, its {message} too.
    error = {"$ref": "#/components/schemas/Error"}
    either = {"anyOf": [error, {"$ref": "#/components/schemas/GatewayError"}]}
    for method, path, operation in _operations(json.loads(generated)):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                expected = either if status in ("401", "404", "500") else error
                assert schema == expected, f"{method} {path} {status}: {schema}"


def test_creating_an_organization_documents_the_refusal_of_an_unverified_address(generated):
    responses = json.loads(generated)["paths"]["/organizations"]["post"]["responses"]
    assert "403" in responses
