"""Table stream -> allow lists -> stations: membership, card, policy and station changes become allow-list
entries, and each affected station is sent its next OCPP SendLocalList over IoT Core."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from connections.platform.table import now
from connections.platform.telemetry import logger, metrics
from connections.stations import allow_entries, delivery

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> PartialItemFailureResponse:
    changes, at = allow_entries.Changes(), now()

    def collect(record: DynamoDBRecord) -> None:
        allow_entries.collect(record.raw_event, changes, at)

    with processor(records=event["Records"], handler=collect, lambda_context=context):
        processor.process()
    try:
        sequences, quiet = allow_entries.apply(changes), changes.quiet(delivery.AT_ONCE_MOST_CHANGES)
        done = delivery.send_next_lists(sequences, changes.full, changes.fan_outs, at_once=quiet)
    except Exception:  # noqa: BLE001 - any failure: the whole batch is retried
        # Writing or publishing failed part-way: report the whole batch, which Lambda retries from its first
        # record. Everything is recomputed from the table, so nothing is lost or applied twice.
        logger.exception("allow-list delivery failed; the batch will be retried")
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"]
            ]
        }
    done.report()
    return processor.response()
