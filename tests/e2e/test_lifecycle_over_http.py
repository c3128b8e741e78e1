"""A driver, an organization and its admins, over HTTP against `make run`'s stack."""

import threading
import uuid
from urllib.parse import quote

import jwt
import pytest

from infra.local import auth
from tests.e2e.stack import token

pytestmark = pytest.mark.e2e


def new_organization(stack, admin: str) -> str:
    status, body, _ = stack.call("POST", "/organizations", user=admin, body={"name": f"Org {admin}"})
    assert status == 201, body
    return body["organization_id"]


def private_connection(stack, admin: str, org: str) -> dict:
    status, body, _ = stack.call(
        "POST",
        f"/organizations/{org}/connections",
        user=admin,
        body={
            "name": "Employees",
            "public": False,
            "questions": [{"id": "employee_id", "label": "Employee id", "pattern": r"E\d{4}"}],
        },
    )
    assert status == 201, body
    return body


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_a_driver_finds_a_private_connection_by_code_and_is_approved(stack):
    # Given an organization with a private connection, and a driver who was told its code
    admin, driver = unique("admin"), unique("driver")
    org = new_organization(stack, admin)
    connection = private_connection(stack, admin, org)
    # When the driver looks the code up (in lower case) and requests with an answer
    status, found, _ = stack.call("GET", f"/connections/by-code/{connection['code'].lower()}", user=driver)
    assert status == 200 and found["connection_id"] == connection["connection_id"]
    assert "code" not in found
    status, membership, _ = stack.call(
        "POST",
        f"/connections/{connection['connection_id']}/memberships",
        user=driver,
        body={"code": connection["code"], "answers": {"employee_id": "E1234"}},
    )
    assert status == 201 and membership["status"] == "pending"
    # Then the admin sees the request with the answers, and approves it
    requests_path = f"/organizations/{org}/connections/{connection['connection_id']}/requests"
    status, pending, _ = stack.call("GET", requests_path, user=admin)
    assert [(r["driver_id"], r["answers"]) for r in pending["items"]] == [(driver, {"employee_id": "E1234"})]
    status, approved, _ = stack.call("POST", f"{requests_path}/{driver}/approve", user=admin)
    assert status == 200 and approved["status"] == "active"
    # And the driver sees the connection as Active
    status, mine, _ = stack.call("GET", "/me/memberships", user=driver)
    assert [(m["connection_id"], m["status"]) for m in mine["items"]] == [
        (connection["connection_id"], "active")
    ]


def test_path_parameters_reach_the_service_decoded_as_api_gateway_hands_them(stack):
    # Given a connection whose code the driver types with a space, which a URL carries as %20
    admin, driver = unique("admin"), unique("driver")
    org = new_organization(stack, admin)
    code = f"PATH{uuid.uuid4().hex[:8].upper()}"
    status, connection, _ = stack.call(
        "POST", f"/organizations/{org}/connections", user=admin, body={"name": "Spaced", "code": code}
    )
    assert status == 201, connection
    # When the driver looks it up, and asks for a station whose id has 36 non-ASCII characters
    spaced = quote(f"{code[:4].lower()} {code[4:]}")
    status, found, _ = stack.call("GET", f"/connections/by-code/{spaced}", user=driver)
    station = stack.call("GET", f"/stations/{quote(chr(0xD6) * 36)}", user=driver)
    # Then the code finds the connection, and the id is judged on 36 characters (no such station)
    assert status == 200 and found["connection_id"] == connection["connection_id"], found
    assert station[:2] == (404, {"error": "not_found", "message": "There is no such station.", "fields": {}})


def test_a_denied_driver_sees_the_organizations_message(stack):
    admin, driver = unique("admin"), unique("driver")
    org = new_organization(stack, admin)
    connection = private_connection(stack, admin, org)
    cid = connection["connection_id"]
    stack.call(
        "POST",
        f"/connections/{cid}/memberships",
        user=driver,
        body={"code": connection["code"], "answers": {"employee_id": "E0001"}},
    )
    status, denied, _ = stack.call(
        "POST",
        f"/organizations/{org}/connections/{cid}/requests/{driver}/deny",
        user=admin,
        body={"message": "Use your badge number, not your desk number."},
    )
    assert status == 200 and denied["status"] == "denied"
    status, mine, _ = stack.call("GET", f"/me/memberships/{cid}", user=driver)
    assert (mine["status"], mine["message"]) == ("denied", "Use your badge number, not your desk number.")


def test_two_admins_deciding_at_once_give_one_winner(stack):
    # Given an organization with two admins and a pending request
    first, second = unique("admin"), unique("admin")
    org = new_organization(stack, first)
    status, _, _ = stack.call(
        "POST", f"/organizations/{org}/admins", user=first, body={"email": f"{second}@example.com"}
    )
    assert status == 201
    connection = private_connection(stack, first, org)
    cid = connection["connection_id"]
    for _ in range(5):
        driver = unique("driver")
        stack.call(
            "POST",
            f"/connections/{cid}/memberships",
            user=driver,
            body={"code": connection["code"], "answers": {"employee_id": "E0002"}},
        )
        # When one approves while the other denies, at the same moment
        base = f"/organizations/{org}/connections/{cid}/requests/{driver}"
        start, answers = threading.Barrier(2), {}

        def decide(admin, action, start=start, answers=answers, base=base):
            start.wait()
            answers[action] = stack.call("POST", f"{base}/{action}", user=admin)

        threads = [threading.Thread(target=decide, args=a) for a in ((first, "approve"), (second, "deny"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Then exactly one wins, the other gets 409 with a sentence, and the driver sees the winner's decision
        statuses = sorted(answers[a][0] for a in answers)
        assert statuses == [200, 409], answers
        winner = next(a for a in answers if answers[a][0] == 200)
        loser = next(a for a in answers if answers[a][0] == 409)
        assert answers[loser][1]["message"].endswith(".")
        _, mine, _ = stack.call("GET", f"/me/memberships/{cid}", user=driver)
        assert mine["status"] == {"approve": "active", "deny": "denied"}[winner]


def test_the_gateway_checks_sign_in_as_the_jwt_authorizer_does(stack):
    assert stack.call("GET", "/me/memberships")[0] == 401
    status, body, headers = stack.call(
        "GET", "/me/memberships", headers={"authorization": "Bearer not-a-jwt"}
    )
    assert (status, body) == (401, {"message": "Unauthorized"})
    forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."  # alg none, no signature
    assert stack.call("GET", "/me/memberships", headers={"authorization": f"Bearer {forged}"})[0] == 401


def test_the_gateway_refuses_a_token_without_expiry_as_the_jwt_authorizer_does(stack):
    # Given a token signed with the local user pool's key, of its issuer and audience, but without `exp`
    claims = jwt.decode(token("no-exp-driver"), options={"verify_signature": False})
    without_exp = {k: v for k, v in claims.items() if k != "exp"}

    def sign(payload: dict) -> dict:
        return {"authorization": f"Bearer {jwt.encode(payload, auth.signing_key(), algorithm='RS256')}"}

    # When
    status, body, _ = stack.call("GET", "/me/memberships", headers=sign(without_exp))

    # Then
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert stack.call("GET", "/me/memberships", headers=sign(claims))[0] == 200  # only `exp` was missing


def test_unknown_routes_and_methods_answer_404(stack):
    assert stack.call("GET", "/nowhere", user="someone")[0] == 404
    assert stack.call("PUT", "/me/memberships", user="someone")[0] == 404
    # Any method, as API Gateway does: not the local server's own 501 for one it has no handler for
    assert stack.call("TRACE", "/me/memberships", user="someone")[:2] == (404, {"message": "Not Found"})


def test_local_pages(stack):
    status, document, _ = stack.call("GET", "/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.1") and "/me/memberships" in document["paths"]
    status, outbox, _ = stack.call("GET", "/_local/outbox")
    assert status == 200 and isinstance(outbox["messages"], list)
    status, failures, _ = stack.call("GET", "/_local/failures")
    assert status == 200 and isinstance(failures["batches"], list)
