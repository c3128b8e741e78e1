"""A stream- and rule-triggered function for the end-to-end tests: it writes every event it gets to
RECORDER_FILE (one JSON line each, with the time) and reports as failed every stream record whose new
image has a name starting with "poison", so the tests can watch retries and the on-failure queue."""

import json
import os
import time


def handler(event, context):
    with open(os.environ["RECORDER_FILE"], "a") as out:
        out.write(json.dumps({"at": time.time(), "event": event}) + "\n")
    failures = []
    for record in event.get("Records", []) if isinstance(event, dict) else []:
        name = record.get("dynamodb", {}).get("NewImage", {}).get("name", {}).get("S", "")
        if name.startswith("poison"):
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    return {"batchItemFailures": failures}
