"""The variables template.yaml's Globals give every function, as the tests that load the functions in this
process set them: the functions read their configuration when they load, as in Lambda. Needs no AWS."""

import os

TABLES = {"ConnectionsTable": "connections", "IdempotencyTable": "connections-idempotency"}


def use_settings(**more: str) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S105 - moto's dummy credentials
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        TABLE_NAME=TABLES["ConnectionsTable"],
        IDEMPOTENCY_TABLE_NAME=TABLES["IdempotencyTable"],
        POWERTOOLS_SERVICE_NAME="connections",
        POWERTOOLS_METRICS_NAMESPACE="Connections",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="WARNING",
        **more,
    )
