"""Table stream -> email: memberships that changed, admin alert windows that opened and reminders that
came due become emails through SES (connections.email.dispatch decides and sends, each email once)."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from connections.email import dispatch
from connections.platform.settings import email_settings
from connections.platform.table import now
from connections.platform.telemetry import logger, metrics

email_settings()  # read and checked at start: a missing sender stops the function now, not at an email
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> PartialItemFailureResponse:
    batch = dispatch.Batch(at=now(), lambda_context=context)

    def one(record: DynamoDBRecord) -> None:
        dispatch.send_emails_for_change(record.raw_event, batch)

    # A record that fails (SES or DynamoDB refused) is reported, and Lambda retries from it; the records
    # after it come again too and find their emails sent.
    return process_partial_response(event=event, record_handler=one, processor=processor, context=context)
