"""Alarms that reach a person, read from template.yaml: every function, stream consumer and on-failure queue
has its alarms (a function added without them fails here), each alarm notifies the one alarms topic, which
emails the address of a stack parameter, and each description says what to do first."""

import re
from pathlib import Path

from infra.template import load, resources

ROOT = Path(__file__).resolve().parents[2]
ALARMS = resources("AWS::CloudWatch::Alarm")
FUNCTIONS = resources("AWS::Serverless::Function")
# SES reviews an account from these rates on (docs: domain.md, "Email with SES").
SES_REVIEW = {"Reputation.BounceRate": 0.05, "Reputation.ComplaintRate": 0.001}


def _target(value) -> str:
    """The resource a dimension's value names (a Ref, or a GetAtt of it)."""
    if "Ref" in value:
        return value["Ref"]
    return (
        value["Fn::GetAtt"].split(".")[0] if isinstance(value["Fn::GetAtt"], str) else value["Fn::GetAtt"][0]
    )


def watching(namespace: str, metric: str) -> dict[str, dict]:
    """The alarms on `metric`, by the resource their (single) dimension names."""
    found = {}
    for alarm in ALARMS.values():
        props = alarm["Properties"]
        if (props["Namespace"], props["MetricName"]) == (namespace, metric):
            (dimension,) = props["Dimensions"]
            found[_target(dimension["Value"])] = props
    return found


def on_failure_queues() -> set[str]:
    """Every queue a function's on-failure destination names: its stream events' and its async invokes'."""
    queues = set()
    for fn in FUNCTIONS.values():
        props = fn["Properties"]
        configs = [e["Properties"].get("DestinationConfig", {}) for e in props.get("Events", {}).values()]
        configs.append(props.get("EventInvokeConfig", {}).get("DestinationConfig", {}))
        queues |= {_target(c["OnFailure"]["Destination"]) for c in configs if "OnFailure" in c}
    return queues


def test_every_function_has_an_errors_and_a_throttles_alarm():
    for metric in ("Errors", "Throttles"):
        alarms = watching("AWS/Lambda", metric)
        assert sorted(alarms) == sorted(FUNCTIONS), (
            f"{metric}: functions without an alarm, or alarms without one"
        )
        assert all(a["Threshold"] == 0 and a["Statistic"] == "Sum" for a in alarms.values())


def test_every_stream_consumer_alarms_a_minute_behind():
    consumers = {
        name
        for name, fn in FUNCTIONS.items()
        if any(e["Type"] == "DynamoDB" for e in fn["Properties"].get("Events", {}).values())
    }
    alarms = watching("AWS/Lambda", "IteratorAge")
    assert len(consumers) >= 2
    assert sorted(alarms) == sorted(consumers)
    assert all(a["Threshold"] == 60_000 and a["Statistic"] == "Maximum" for a in alarms.values())


def test_every_on_failure_queue_alarms_when_not_empty():
    alarms = watching("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert len(on_failure_queues()) >= 4
    assert sorted(alarms) == sorted(on_failure_queues())
    assert all(
        a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold" for a in alarms.values()
    )


def test_the_api_5xx_and_stale_stations_alarm():
    assert list(watching("AWS/ApiGateway", "5xx")) == ["HttpApi"]
    (stale,) = [a["Properties"] for a in ALARMS.values() if a["Properties"]["MetricName"] == "StaleStations"]
    variables = load()["Globals"]["Function"]["Environment"]["Variables"]
    # The sweep's metric as Powertools publishes it: the service's namespace, its service dimension.
    assert stale["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert stale["Dimensions"] == [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
    emitted = (ROOT / "functions" / "station_messages" / "sweep.py").read_text()
    assert 'name="StaleStations"' in emitted


def test_ses_reputation_alarms_fire_before_ses_reviews_the_account():
    rates = {a["Properties"]["MetricName"]: a["Properties"] for a in ALARMS.values()}
    for metric, review in SES_REVIEW.items():
        assert rates[metric]["Namespace"] == "AWS/SES"
        assert 0 < rates[metric]["Threshold"] <= review / 2, f"{metric} alarms too late"


def test_every_alarm_emails_a_person_and_says_what_to_do_first():
    topic = resources("AWS::SNS::Topic")["AlarmsTopic"]["Properties"]
    assert topic["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    assert "AlarmEmail" in load()["Parameters"]
    for name, alarm in ALARMS.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmsTopic"}], name
        description = props["AlarmDescription"]
        text = description["Fn::Sub"] if isinstance(description, dict) else description
        assert re.search(r"\. First: \S", text), f"{name}: its description must say what to do first"
        assert len(text) <= 1024, f"{name}: CloudWatch keeps 1024 characters of a description"
