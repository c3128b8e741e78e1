"""Two corrections to moto's DynamoDB, so the local stack and the tests meet DynamoDB's semantics.

Atomic requests. moto's threaded server runs requests side by side, and its backend checks a condition
and then writes without a lock. Two conditional writes sent at once can then both pass, and a transaction
that fails restores a copy of the table taken before another request's write, erasing that write. In
DynamoDB a condition and its write are one step, and a transaction is all or nothing for everybody. The
services' rate limits and claims rely on exactly that, so `install` runs DynamoDB requests one at a time.
moto offers no such setting; a lock around its request handler is the smallest way to get it.

Fast transactions. moto applies a transaction's items one by one and, to roll back if a later condition
fails, first deep-copies every table it touches, stream history included: about 0.2 ms per stored item and
record here, so a stack that has run a while takes seconds per transaction (the sync function writes each
batch's allow-list entries in one). No moto setting avoids it, so this wraps it: the conditions are
evaluated first; a transaction whose conditions all hold is applied without the copy (nothing will need
rolling back), one whose conditions fail is cancelled with moto's reasons before anything is written,
and anything unusual (a key twice, an expression this check cannot judge) takes moto's own path. One gap
remains: an item that moto refuses while applying it (an update expression it rejects, a bug the tests
then show) leaves the items before it written, where DynamoDB would write none."""

import copy
import threading

_skip = threading.local()


class _CopyExceptTables:
    """Stands in for the `copy` module inside moto's DynamoDB backend."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        from moto.dynamodb.models.table import Table

        if getattr(_skip, "active", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _checked(backend, transact_items: list[dict]) -> list | None:
    """The transaction's cancellation reasons, as moto reports them ((None, None, None) for an item whose
    condition holds); None when it is unusual (a key twice, an unknown table, an expression
    moto must judge): moto's own path then decides and reports it."""
    from moto.dynamodb.comparisons import get_filter_expression

    seen: set = set()
    reasons: list[tuple[str | None, str | None, dict | None]] = []
    try:
        for entry in transact_items:
            ((kind, op),) = entry.items()
            table = backend.get_table(op["TableName"])
            if kind == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            identity = (op["TableName"], str(sorted(key.items())))
            if identity in seen:
                return None
            seen.add(identity)
            current = backend.get_item(op["TableName"], key)
            condition = op.get("ConditionExpression")
            test = condition and get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if test and not test.expr(current):
                old = current.to_json()["Attributes"] if current is not None else None
                wanted = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                reasons.append(("ConditionalCheckFailed", "The conditional request failed", wanted and old))
            else:
                reasons.append((None, None, None))
    except Exception:  # noqa: BLE001 - anything unusual: moto's own path decides and reports it
        return None
    return reasons


_one_at_a_time = threading.Lock()


def install() -> None:
    """Both corrections; calling it again changes nothing."""
    from moto.dynamodb import models, responses
    from moto.dynamodb.exceptions import TransactionCanceledException

    if getattr(responses.DynamoHandler.call_action, "serialized", False):
        return
    handle = responses.DynamoHandler.call_action

    def call_action(handler):
        with _one_at_a_time:
            return handle(handler)

    # Patching moto, whose classes and module mypy reads as they are declared.
    call_action.serialized = True  # type: ignore[attr-defined]
    responses.DynamoHandler.call_action = call_action  # type: ignore[method-assign]

    models.copy = _CopyExceptTables()  # type: ignore[assignment]
    transact = models.DynamoDBBackend.transact_write_items

    def transact_write_items(backend, transact_items):
        reasons = _checked(backend, transact_items) if len(transact_items) <= 100 else None
        if reasons is None:
            return transact(backend, transact_items)
        if any(code for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)  # nothing written: nothing to copy or roll back
        _skip.active = True
        try:
            return transact(backend, transact_items)
        finally:
            _skip.active = False

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
