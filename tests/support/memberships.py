"""Given-helpers for the integration tests: call the two real Lambda handlers with real API Gateway events
against moto's DynamoDB, and set up organizations, connections and requests in one line each.

Every answer passes through `checked`: no answer in the suite may be a 5xx, and every 4xx must be the
service's one error shape {"error", "message", "fields"}.
"""

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime

from connections.memberships import tries
from connections.memberships.items import LookupMissesItem, MembershipItem
from functions.approve.app import handler as admin_handler
from functions.request_connection.app import handler as driver_handler
from tests.support.api import Answer, call

ADA = "ada@fleet.example"  # the admin who creates the organizations
BOB = "bob@fleet.example"
EVE = "eve@elsewhere.example"  # an admin of another organization
DRIVER = "driver-1"
OTHER_DRIVER = "driver-2"

CODE_ALPHABET = set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")
NO_ROUTE = "There is no such resource."


def checked(answer: Answer) -> Answer:
    assert answer.status < 500, f"the service answered {answer.status}: {answer.body}"
    if answer.status >= 400:
        assert isinstance(answer.body, dict), answer.body
        assert set(answer.body) == {"error", "message", "fields"}, answer.body
        assert isinstance(answer.body["error"], str) and answer.body["error"], answer.body
        assert isinstance(answer.body["message"], str) and answer.body["message"], answer.body
        assert isinstance(answer.body["fields"], dict), answer.body
    return answer


def sub_of(email: str) -> str:
    """The user id (`sub` claim) of the admin who signs in with `email`."""
    return f"sub-of-{email}"


def as_admin(method: str, path: str, *, email: str = ADA, verified: bool = True, **kwargs) -> Answer:
    """A call to the admin function (approve/app.py) by the person signed in with `email`."""
    kwargs.setdefault("sub", sub_of(email))
    return checked(call(admin_handler, method, path, email=email, email_verified=verified, **kwargs))


def as_driver(method: str, path: str, *, sub: str | None = DRIVER, **kwargs) -> Answer:
    """A call to the driver function (request_connection/app.py) by the driver `sub`."""
    return checked(call(driver_handler, method, path, sub=sub, **kwargs))


# --- Given


def given_organization(name: str = "Fleet One", admin: str = ADA) -> str:
    answer = as_admin("POST", "/organizations", email=admin, body={"name": name})
    assert answer.status == 201, answer.body
    return answer.body["organization_id"]


def given_admin(organization_id: str, email: str, by: str = ADA, *, signed_in: bool = False) -> None:
    """`email` added as an admin; `signed_in`: its owner has since signed in and opened the organization."""
    answer = as_admin("POST", f"/organizations/{organization_id}/admins", email=by, body={"email": email})
    assert answer.status == 201, answer.body
    if signed_in:
        assert as_admin("GET", f"/organizations/{organization_id}", email=email).status == 200


def given_connection(organization_id: str, admin: str = ADA, **fields) -> dict:
    """A connection (as its admins see it, with its code); private and manually approved by default."""
    answer = as_admin(
        "POST",
        f"/organizations/{organization_id}/connections",
        email=admin,
        body={"name": "Night shift", **fields},
    )
    assert answer.status == 201, answer.body
    return answer.body


def admin_path(connection: dict, suffix: str = "") -> str:
    organization_id = connection["organization"]["organization_id"]
    return f"/organizations/{organization_id}/connections/{connection['connection_id']}{suffix}"


def request_membership(
    connection: dict, driver: str = DRIVER, *, code: str | None = None, **kwargs
) -> Answer:
    """POST /connections/{id}/memberships; a private connection gets its own code unless `code` is given."""
    body = kwargs.pop("body", None)
    if body is None:
        body = {"answers": kwargs.pop("answers", {})}
        if code is not None:
            body["code"] = code
        elif not connection["public"]:
            body["code"] = connection["code"]
    return as_driver(
        "POST", f"/connections/{connection['connection_id']}/memberships", sub=driver, body=body, **kwargs
    )


def given_pending(connection: dict, driver: str = DRIVER, **kwargs) -> dict:
    answer = request_membership(connection, driver, **kwargs)
    assert answer.status == 201 and answer.body["status"] == "pending", answer.body
    return answer.body


def decide(connection: dict, driver: str, action: str, *, admin: str = ADA, **kwargs) -> Answer:
    """approve or deny (POST .../requests/{driver}/{action}) or remove (DELETE .../members/{driver})."""
    if action == "remove":
        return as_admin("DELETE", admin_path(connection, f"/members/{driver}"), email=admin, **kwargs)
    return as_admin("POST", admin_path(connection, f"/requests/{driver}/{action}"), email=admin, **kwargs)


def given_active(connection: dict, driver: str = DRIVER) -> dict:
    given_pending(connection, driver)
    answer = decide(connection, driver, "approve")
    assert answer.status == 200 and answer.body["status"] == "active", answer.body
    return answer.body


def requests_of(connection: dict, status: str | None = None, admin: str = ADA) -> list[dict]:
    answer = as_admin(
        "GET", admin_path(connection, "/requests"), email=admin, query={"status": status} if status else None
    )
    assert answer.status == 200, answer.body
    return answer.body["items"]


def my_membership(connection: dict, driver: str = DRIVER) -> Answer:
    return as_driver("GET", f"/me/memberships/{connection['connection_id']}", sub=driver)


def my_memberships(driver: str = DRIVER) -> list[dict]:
    answer = as_driver("GET", "/me/memberships", sub=driver)
    assert answer.status == 200, answer.body
    return answer.body["items"]


def all_pages(fetch, query: dict) -> list[dict]:
    """Every item of a paged listing, following next_cursor until it is null (at most 50 pages)."""
    items: list[dict] = []
    cursor = None
    for _ in range(50):
        answer = fetch({**query, **({"cursor": cursor} if cursor else {})})
        assert answer.status == 200, answer.body
        items += answer.body["items"]
        cursor = answer.body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the listing never ended")


def browse(**query) -> Answer:
    return as_driver("GET", "/connections", query=query)


def names(items: list[dict]) -> list[str]:
    return [item["name"] for item in items]


def cursor_of(key: dict[str, str]) -> str:
    """A cursor in the service's format (base64url of a DynamoDB key), for forged-cursor tests."""
    raw = json.dumps({name: {"S": value} for name, value in key.items()}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def set_expires_at(connection_id: str, driver: str, when: datetime) -> None:
    """Move a stored membership's re-verification date (the clock cannot be moved 30 days forward)."""
    item = MembershipItem.get(*MembershipItem.key(connection_id, driver))
    item.update(actions=[MembershipItem.expires_at.set(when)])


def stored_status(connection_id: str, driver: str) -> str:
    return MembershipItem.get(*MembershipItem.key(connection_id, driver), consistent_read=True).status


def given_earlier_misses(
    count: int, *, user: str | None = None, address: str | None = None, seconds_ago: int = 0
) -> None:
    """Misses made a moment ago by `user` (from anywhere) or from `address` (by anyone), written to the
    limit's record directly: each real miss is a DynamoDB transaction, and a hundred of them would take
    longer than a whole test module. Tests still make the misses that cross a limit for real."""
    if user:
        first, second = tries.keys(user, "192.0.2.1"), tries.keys(user, "192.0.2.2")
    else:
        first, second = tries.keys("someone", address), tries.keys("someone-else", address)
    (key,) = set(first) & set(second)
    LookupMissesItem(*key, misses=[int(time.time()) - seconds_ago] * count).save()


def at_the_same_moment(*actions: Callable[[], Answer]) -> list[Answer]:
    """Run the actions in threads released together by a barrier; their answers in the same order."""
    barrier = threading.Barrier(len(actions))
    answers: list[Answer | BaseException | None] = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = actions[i]()
        except BaseException as error:  # noqa: BLE001 - reported below, in the test's thread
            answers[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for answer in answers:
        if not isinstance(answer, Answer):
            raise AssertionError(f"an action did not answer: {answer!r}")
    return answers  # type: ignore[return-value]
