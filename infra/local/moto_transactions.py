"""Keeps moto's TransactWriteItems fast in a long-running local stack, with DynamoDB's semantics intact.

moto applies a transaction's items one by one and, to roll back if a later condition fails, first
deep-copies every table it touches, stream history included: about 0.2 ms per stored item and record here,
so a stack that has run a while takes seconds per transaction (the sync function writes each batch's
allow-list entries in one). No moto setting avoids it, so this wraps it: the conditions are evaluated
first; a transaction whose conditions all hold is applied without the copy (nothing will need rolling
back), and any other takes moto's own path, rollback included."""

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


def _conditions_hold(backend, transact_items: list[dict]) -> bool:
    from moto.dynamodb.comparisons import get_filter_expression

    seen = set()
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
                return False
            seen.add(identity)
            condition = op.get("ConditionExpression")
            if condition:
                test = get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not test.expr(backend.get_item(op["TableName"], key)):
                    return False
    except Exception:  # noqa: BLE001 - anything unusual: moto's own path decides and reports it
        return False
    return True


def install() -> None:
    from moto.dynamodb import models

    models.copy = _CopyExceptTables()
    transact = models.DynamoDBBackend.transact_write_items

    def transact_write_items(backend, transact_items):
        if len(transact_items) <= 100 and _conditions_hold(backend, transact_items):
            _skip.active = True
            try:
                return transact(backend, transact_items)
            finally:
                _skip.active = False
        return transact(backend, transact_items)

    models.DynamoDBBackend.transact_write_items = transact_write_items
