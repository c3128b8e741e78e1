"""The dashboard of template.yaml shows the product's own figures: each metric it reads from the service's
namespace is one the functions emit (a renamed metric would leave an empty graph, unnoticed)."""

import json
import re
from pathlib import Path

from infra.template import load, resources

ROOT = Path(__file__).resolve().parents[2]
# What the dashboard must show (issue 14): requests and decisions, messages and bytes to stations, the time
# from a change to its acknowledgement, stale stations, emails sent and refused.
FIGURES = {
    "Count",
    "Approvals",
    "Denials",
    "StationMessages",
    "StationBytes",
    "ChangeAcknowledged",
    "StaleStations",
    "EmailsSent",
    "EmailsRejected",
}


def dashboard() -> tuple[dict, dict[str, str]]:
    """The dashboard's body, as CloudWatch reads it once deployed, and the variables it was made with."""
    (resource,) = resources("AWS::CloudWatch::Dashboard").values()
    body, variables = resource["Properties"]["DashboardBody"]["Fn::Sub"]
    deployed = variables | {"AWS::Region": "us-east-1", "HttpApi": "a1b2c3"}
    return json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: deployed[m.group(1)], body)), variables


def graphed() -> list[list]:
    return [metric for widget in dashboard()[0]["widgets"] for metric in widget["properties"]["metrics"]]


def emitted() -> set[str]:
    """Every metric name the functions' code adds through Powertools Metrics."""
    code = "\n".join(p.read_text() for p in (ROOT / "functions").rglob("*.py"))
    return set(re.findall(r'add_metric\(\s*name="(\w+)"', code))


def test_the_dashboard_reads_the_namespace_and_service_the_functions_publish_with():
    variables = load()["Globals"]["Function"]["Environment"]["Variables"]
    assert dashboard()[1] == {
        "Namespace": variables["POWERTOOLS_METRICS_NAMESPACE"],
        "Service": variables["POWERTOOLS_SERVICE_NAME"],
    }


def test_every_service_metric_on_the_dashboard_is_emitted():
    namespace = dashboard()[1]["Namespace"]
    shown = {metric[1] for metric in graphed() if metric[0] == namespace}
    assert shown - emitted() == set()


def test_the_dashboard_shows_the_products_figures():
    assert FIGURES - {metric[1] for metric in graphed()} == set()
