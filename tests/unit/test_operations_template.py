"""Operations wiring of template.yaml: every alarm notifies the topic, every log group expires, the dashboard parses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.template import load_template
from tests.helpers import Template, properties, resolve, resources, translate

# Each alarm the troubleshooting guide relies on, with the metric it watches.
EXPECTED_ALARMS = {
    "DeadLetterQueueNotEmptyAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "NotifierErrorsAlarm": ("AWS/Lambda", "Errors"),
    "StreamIteratorAgeAlarm": ("AWS/Lambda", "IteratorAge"),
    "SignupErrorsAlarm": ("AWS/Lambda", "Errors"),
    "Api5xxAlarm": ("AWS/ApiGateway", "5xx"),
    "EndpointFailingAlarm": ("SignupWebhooks", "EndpointFailingMinutes"),
}
# Alarms on a metric published only when something happens keep their state between data points.
KEEPS_STATE_WITHOUT_DATA = {"EndpointFailingAlarm"}


@pytest.fixture(scope="module")
def translated() -> Template:
    return translate(load_template())


def watched_metric(alarm: dict[str, Any]) -> tuple[str, str]:
    if "MetricName" in alarm:
        return alarm["Namespace"], alarm["MetricName"]
    [stat] = [query["MetricStat"] for query in alarm["Metrics"] if "MetricStat" in query]
    return stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]


def test_each_expected_alarm_watches_its_metric(translated: Template) -> None:
    alarms = resources(translated, "AWS::CloudWatch::Alarm")
    assert {name: watched_metric(body["Properties"]) for name, body in alarms.items()} == EXPECTED_ALARMS


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_clears(translated: Template) -> None:
    for name in resources(translated, "AWS::CloudWatch::Alarm"):
        alarm = resolve(properties(translated, name))
        assert alarm["AlarmActions"] == ["<AlarmTopic>"], name
        assert alarm["OKActions"] == ["<AlarmTopic>"], name
        expected = "ignore" if name in KEEPS_STATE_WITHOUT_DATA else "notBreaching"
        assert alarm["TreatMissingData"] == expected, name


def test_the_endpoint_failing_alarm_fires_after_the_parameters_minutes(translated: Template) -> None:
    alarm = resolve(properties(translated, "EndpointFailingAlarm"))
    assert alarm["Threshold"] == "<EndpointFailingAlarmMinutes>"
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Statistic"] == "Maximum"


def test_the_iterator_age_alarm_compares_seconds_with_seconds(translated: Template) -> None:
    alarm = properties(translated, "StreamIteratorAgeAlarm")
    [expression] = [query for query in alarm["Metrics"] if query.get("ReturnData")]
    assert expression["Expression"].replace(" ", "") == "maxAge/1000"
    assert resolve(alarm["Threshold"]) == "<IteratorAgeAlarmSeconds>"


def test_the_email_subscription_exists_only_when_an_address_is_given(translated: Template) -> None:
    [subscription] = resources(translated, "AWS::SNS::Subscription").values()
    assert subscription["Condition"] == "HasAlarmEmail"
    assert resolve(subscription["Properties"]["TopicArn"]) == "<AlarmTopic>"
    assert translated["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def test_every_log_group_has_a_retention(translated: Template) -> None:
    groups = resources(translated, "AWS::Logs::LogGroup")
    assert groups
    for name, body in groups.items():
        assert resolve(body["Properties"]["RetentionInDays"]) == "<LogRetentionDays>", name


def test_every_function_logs_to_its_own_explicit_group_and_the_api_to_another(translated: Template) -> None:
    groups = set(resources(translated, "AWS::Logs::LogGroup"))
    used = [
        resolve(body["Properties"]["LoggingConfig"]["LogGroup"])
        for body in resources(translated, "AWS::Lambda::Function").values()
    ]
    assert len(set(used)) == len(used)
    assert sorted(used) == sorted(f"<{name}>" for name in groups - {"ApiAccessLogGroup"})


def test_the_dashboard_body_is_json_with_the_pipeline_widgets(translated: Template) -> None:
    body = json.loads(resolve(properties(translated, "DeliveryDashboard")["DashboardBody"]))
    titles = [widget["properties"]["title"] for widget in body["widgets"]]
    assert "Dead-letter queue, retry queue, announcement queue" in titles
    assert "Failed deliveries by reason" in titles
