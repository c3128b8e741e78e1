"""The stream pumps and the IoT broker of `make run`, watched through a recording function."""

import json
import uuid

import boto3
import paho.mqtt.client as mqtt
import pytest

from tests.e2e.conftest import recorded, wait_for

pytestmark = pytest.mark.e2e


def local_client(service: str, endpoint: str):
    """boto3's client for `service`, pointed at the stack as the functions' are, and otherwise unchanged."""
    local = "local"  # the stack takes any credentials
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=local,
        aws_secret_access_key=local,
    )


def _records(recorder_file):
    return [(entry["at"], r) for entry in recorded(recorder_file) for r in entry["event"].get("Records", [])]


def _new_image_names(recorder_file) -> list[str]:
    return [r["dynamodb"].get("NewImage", {}).get("name", {}).get("S") for _, r in _records(recorder_file)]


def _create_connection(stack, name: str) -> str:
    admin = f"admin-{uuid.uuid4().hex[:8]}"
    _, org, _ = stack.call("POST", "/organizations", user=admin, body={"name": "Streams"})
    status, connection, _ = stack.call(
        "POST", f"/organizations/{org['organization_id']}/connections", user=admin, body={"name": name}
    )
    assert status == 201
    return connection["connection_id"]


def test_a_change_reaches_the_stream_function_in_lambdas_event_shape(stack, recorder_file):
    name = f"streamed-{uuid.uuid4().hex[:8]}"
    _create_connection(stack, name)
    assert wait_for(lambda: name in _new_image_names(recorder_file), timeout=3)
    record = next(
        r
        for _, r in _records(recorder_file)
        if r["dynamodb"].get("NewImage", {}).get("name", {}).get("S") == name
    )
    assert record["eventSourceARN"].startswith("arn:aws:dynamodb:")
    assert record["eventVersion"] == "1.1" and record["eventName"] == "INSERT"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)


def test_filter_criteria_keep_other_item_kinds_away(stack, recorder_file):
    name = f"filtered-{uuid.uuid4().hex[:8]}"
    _create_connection(stack, name)
    assert wait_for(lambda: name in _new_image_names(recorder_file), timeout=3)
    kinds = {r["dynamodb"].get("NewImage", {}).get("kind", {}).get("S") for _, r in _records(recorder_file)}
    assert kinds <= {"connection", "membership"}, kinds


def test_a_poison_record_is_retried_then_parked_and_the_shard_moves_on(stack, recorder_file):
    poison = f"poison-{uuid.uuid4().hex[:8]}"
    _create_connection(stack, poison)

    def parked():
        _, failures, _ = stack.call("GET", "/_local/failures")
        return [
            b
            for b in failures["batches"]
            if any(r["dynamodb"].get("NewImage", {}).get("name", {}).get("S") == poison for r in b["records"])
        ]

    batches = wait_for(parked, timeout=10)
    assert batches and batches[0]["function"] == "RecorderFunction" and batches[0]["attempts"] == 3
    # the function saw it once plus two retries (the template's MaximumRetryAttempts: 2)
    assert _new_image_names(recorder_file).count(poison) == 3
    after = f"after-{uuid.uuid4().hex[:8]}"
    _create_connection(stack, after)
    assert wait_for(lambda: after in _new_image_names(recorder_file), timeout=3)


def test_a_station_message_on_in_invokes_the_topic_rule(stack, recorder_file):
    station = f"CP-{uuid.uuid4().hex[:6]}"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", stack.mqtt_port)
    client.loop_start()
    client.publish(f"{station}/in", json.dumps({"hello": "world"}), qos=1).wait_for_publish(5)
    found = wait_for(
        lambda: [e for e in recorded(recorder_file) if e["event"].get("station_id") == station], timeout=3
    )
    client.loop_stop()
    assert found and found[0]["event"] == {"hello": "world", "station_id": station}


def test_an_iot_data_publish_is_delivered_to_mqtt_subscribers(stack):
    station, received = f"CP-{uuid.uuid4().hex[:6]}", []
    subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    subscriber.on_message = lambda _c, _u, message: received.append((message.topic, message.payload))
    subscriber.connect("127.0.0.1", stack.mqtt_port)
    subscriber.subscribe(f"{station}/out", qos=1)
    subscriber.loop_start()
    wait_for(lambda: False, timeout=0.3)  # let the subscription settle
    # boto3's iot-data client, pointed at the stack as the functions are, and otherwise unchanged
    iot = local_client("iot-data", f"{stack.base}/_local/iot")
    frame = b'[2,"1","GetLocalListVersion",{}]'
    iot.publish(topic=f"{station}/out", qos=1, payload=frame)
    assert wait_for(lambda: received, timeout=3) == [(f"{station}/out", frame)]
    subscriber.loop_stop()


def test_the_outbox_shows_what_ses_accepted_with_both_parts(stack):
    # Given an email sent through the stack's SES (v2, raw MIME with a text and an HTML part)
    from email.message import EmailMessage

    ses = local_client("sesv2", f"http://127.0.0.1:{stack.moto_port}")
    ses.create_email_identity(EmailIdentity="noreply@connections.example")
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = (
        "Approved",
        "noreply@connections.example",
        "d@example.com",
    )
    message.set_content("You are in.")
    message.add_alternative("<p>You are <b>in</b>.</p>", subtype="html")
    ses.send_email(
        FromEmailAddress="noreply@connections.example",
        Destination={"ToAddresses": ["d@example.com"]},
        Content={"Raw": {"Data": message.as_bytes()}},
    )
    # Then the outbox lists it with its recipient, subject and both parts
    _, outbox, _ = stack.call("GET", "/_local/outbox")
    sent = [m for m in outbox["messages"] if m["subject"] == "Approved"]
    assert len(sent) == 1
    assert sent[0]["to"] == ["d@example.com"]
    assert sent[0]["text"].strip() == "You are in."
    assert "<b>in</b>" in sent[0]["html"]


def test_a_function_starts_another_through_lambdas_invoke_api(stack):
    # boto3's Lambda client, pointed at the stack as StationSyncFunction's is (AWS_ENDPOINT_URL_LAMBDA)
    functions = local_client("lambda", f"{stack.base}/_local/lambda")
    # A part of a fan-out (a ContinuationItem as DynamoDB holds it) to a policy that has no such part
    part = {
        "pk": {"S": "CONTINUE#no-such-policy#stations#1#000000"},
        "sk": {"S": "CONTINUE"},
        "kind": {"S": "continuation"},
        "seq": {"N": "1"},
    }
    payload = json.dumps({"part": part}).encode()

    # An asynchronous start is queued (202); a synchronous one answers what the function returned: a part
    # whose item is gone (done, or never written) reaches nobody
    assert (
        functions.invoke(FunctionName="StationFanOutFunction", InvocationType="Event", Payload=payload)[
            "StatusCode"
        ]
        == 202
    )
    answer = functions.invoke(FunctionName="StationFanOutFunction", Payload=payload)
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"publishes": 0}

    # A function's failure is the caller's to read; a function the template lacks is not found
    failed = functions.invoke(FunctionName="StationFanOutFunction", Payload=b'{"part": {}}')
    assert failed["FunctionError"] == "Unhandled"
    with pytest.raises(functions.exceptions.ResourceNotFoundException):
        functions.invoke(FunctionName="NoSuchFunction", Payload=b"{}")
