"""Counting DynamoDB calls, for the round-trip tests and every benchmark that counts them: one record per API
call that any botocore client makes to DynamoDB (PynamoDB's, the service's boto3 clients, the idempotency
layer's), with its operation, the tables and index it names, the items it read and how long it took.

    DYNAMODB = DynamoDBCalls().install()   # any time: clients made before are counted too
    DYNAMODB.reset(); <a request>; DYNAMODB.operations()

Every client calls botocore.client.BaseClient._make_api_call, so wrapping it there counts them all, whenever
they were created; the functions call DynamoDB from worker threads too (the station sync's fan-out), and
each call keeps its own record, so threads do not mix theirs.
"""

import time
from dataclasses import dataclass


@dataclass
class Call:
    """One call to DynamoDB."""

    operation: str  # Query, BatchGetItem, TransactWriteItems, ...
    tables: frozenset[str]  # every table it names (TableName, RequestItems, TransactItems)
    index: str | None  # the index a Query or Scan reads
    items_read: int = 0  # a Query's or Scan's items read (ScannedCount), a BatchGetItem's items found
    seconds: float = 0.0  # from asking to the parsed answer
    error: str | None = None  # the error DynamoDB answered with (ConditionalCheckFailedException, ...)
    returns_item: bool = False  # a write that asked for the item back (ReturnValues), to be parsed

    @property
    def index_query(self) -> bool:
        return self.operation == "Query" and self.index is not None


def _tables(params: dict) -> frozenset[str]:
    found = set()
    if isinstance(params.get("TableName"), str):
        found.add(params["TableName"])
    found.update(params.get("RequestItems") or {})
    for item in params.get("TransactItems") or []:
        for operation in item.values():
            found.add(operation.get("TableName"))
    return frozenset(found)


def _items_read(operation: str, answer: dict) -> int:
    if operation in ("Query", "Scan"):
        return int(answer.get("ScannedCount", answer.get("Count", 0)))
    if operation == "BatchGetItem":
        return sum(len(items) for items in answer.get("Responses", {}).values())
    return 0


class DynamoDBCalls:
    """Every call to DynamoDB, in order, since the last reset(), from install() to uninstall()."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._original = None

    def install(self) -> "DynamoDBCalls":
        from botocore.client import BaseClient
        from botocore.exceptions import ClientError

        original = self._original = BaseClient._make_api_call
        calls = self.calls

        def counted(client, operation: str, params: dict):
            if client.meta.service_model.service_name != "dynamodb":
                return original(client, operation, params)
            call = Call(operation, _tables(params), params.get("IndexName"))
            call.returns_item = params.get("ReturnValues", "NONE") != "NONE"
            calls.append(call)
            began = time.perf_counter()
            try:
                answer = original(client, operation, params)
            except ClientError as error:
                call.error = error.response.get("Error", {}).get("Code")
                raise
            finally:
                call.seconds = time.perf_counter() - began
            call.items_read = _items_read(operation, answer)
            return answer

        BaseClient._make_api_call = counted
        return self

    def uninstall(self) -> None:
        from botocore.client import BaseClient

        BaseClient._make_api_call = self._original

    def reset(self) -> None:
        self.calls.clear()

    def operations(self) -> list[str]:
        return [c.operation for c in self.calls]

    def index_queries(self) -> int:
        return sum(1 for c in self.calls if c.index_query)

    def items_read(self, index: str | None = None) -> int:
        """Items read by the calls (`index`: by its queries and scans only)."""
        return sum(c.items_read for c in self.calls if index is None or c.index == index)

    def refused(self) -> list[str]:
        """The calls DynamoDB answered with an error, as "operation: error" (a condition that did not hold, a
        cancelled transaction: the service then reads again, retries or answers 409)."""
        return [f"{c.operation}: {c.error}" for c in self.calls if c.error]

    def seconds(self) -> float:
        """Time spent in the calls (threads' calls at once are each counted)."""
        return sum(c.seconds for c in self.calls)
