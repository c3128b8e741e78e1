"""Counting DynamoDB calls, for every benchmark that counts them: one record per request that any botocore
client sends to DynamoDB (PynamoDB's, the service's boto3 clients, the idempotency layer's), with its
operation, the tables and index it names, the items it read and how long it took. Not a benchmark itself.

    from counting import DynamoDBCalls
    DYNAMODB = DynamoDBCalls().install()   # before the service creates its clients
    DYNAMODB.reset(); <a request>; DYNAMODB.operations()

botocore has no switch for this: hooks are registered on each client as it is created (the call's
parameters, each HTTP request sent, the parsed answer), reading what botocore already holds, so that
counting adds next to nothing to what is measured (bench/station_burst.py measures the sync function's
memory). The functions call DynamoDB from worker threads too (the station sync's fan-out): the call under
way is kept per thread.
"""

import threading
import time
from dataclasses import dataclass


@dataclass
class Call:
    """One request sent to DynamoDB."""

    operation: str  # Query, BatchGetItem, TransactWriteItems, ...
    tables: frozenset[str]  # every table it names (TableName, RequestItems, TransactItems)
    index: str | None  # the index a Query or Scan reads
    items_read: int = 0  # a Query's or Scan's items read (ScannedCount), a BatchGetItem's items found
    seconds: float = 0.0  # from sending it to its parsed answer
    error: str | None = None  # the error DynamoDB answered with (ConditionalCheckFailedException, ...)

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


class DynamoDBCalls:
    """Every request sent to DynamoDB by every botocore client created after install(), in order, since
    the last reset()."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._sending = threading.local()  # this thread's request awaiting its answer, and when it left

    def install(self) -> "DynamoDBCalls":
        import botocore.session

        create_client = botocore.session.Session.create_client
        counter = self

        def create_counted_client(session, *args, **kwargs):
            client = create_client(session, *args, **kwargs)
            client.meta.events.register("provide-client-params.dynamodb", counter._asked)
            client.meta.events.register("before-send.dynamodb", counter._sent)
            client.meta.events.register("after-call.dynamodb", counter._answered)
            return client

        botocore.session.Session.create_client = create_counted_client
        return self

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

    def _asked(self, params, model, **_) -> None:
        self._sending.asked = (model.name, _tables(params), params.get("IndexName"))

    def _sent(self, **_) -> None:
        operation, tables, index = self._sending.asked
        call = Call(operation, tables, index)
        self.calls.append(call)
        self._sending.call, self._sending.at = call, time.perf_counter()

    def _answered(self, parsed, **_) -> None:
        call = getattr(self._sending, "call", None)
        if call is None:
            return
        call.seconds = time.perf_counter() - self._sending.at
        call.error = (parsed.get("Error") or {}).get("Code")  # botocore emits after-call for errors too
        if call.operation in ("Query", "Scan"):
            call.items_read = int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        elif call.operation == "BatchGetItem":
            call.items_read = sum(len(items) for items in parsed.get("Responses", {}).values())
        self._sending.call = None
