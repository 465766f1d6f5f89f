"""Operations wiring of template.yaml: every alarm notifies the topic, every log group expires, the dashboard parses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.template import load_template
from tests.helpers import Template, deployed, environment, properties, resolve, resources, translate

# Each alarm the troubleshooting guide relies on, with the metric it watches.
EXPECTED_ALARMS = {
    "DeadLetterQueueNotEmptyAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "NotifierErrorsAlarm": ("AWS/Lambda", "Errors"),
    "StreamIteratorAgeAlarm": ("AWS/Lambda", "IteratorAge"),
    "SignupErrorsAlarm": ("AWS/Lambda", "Errors"),
    "Api5xxAlarm": ("AWS/ApiGateway", "5xx"),
    "EndpointFailingAlarm": ("SignupWebhooks", "EndpointFailingMinutes"),
    "SignupSilenceAlarm": ("SignupWebhooks", "Signups"),
    "SignupSurgeAlarm": ("SignupWebhooks", "Signups"),
}
# What an alarm makes of a period without data, when it is not notBreaching: alarms on a metric published only when
# something happens keep their state between data points, and the silence alarm's alarm is that nothing happens.
MISSING_DATA = {"EndpointFailingAlarm": "ignore", "SignupSilenceAlarm": "breaching"}
SIGNUP_ALARMS = {"SignupSilenceAlarm", "SignupSurgeAlarm"}
# CloudWatch's longest evaluation (Period x EvaluationPeriods), for periods of an hour or more.
LONGEST_EVALUATION_SECONDS = 7 * 24 * 3600


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
        assert alarm["TreatMissingData"] == MISSING_DATA.get(name, "notBreaching"), name


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


# ---- the signup path's own alarms: silence and surge -----------------------------------------------------------------


def with_parameters(value: Any, **parameters: int) -> Any:
    """A deployed resource's properties with these parameters' Refs replaced by their values (numbers here)."""
    if isinstance(value, list):
        return [with_parameters(item, **parameters) for item in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        return {key: with_parameters(item, **parameters) for key, item in value.items()}
    return value


def signup_alarm(translated: Template, name: str, **parameters: int) -> dict[str, Any]:
    stack = deployed(translated, **{key: str(value) for key, value in parameters.items()})
    return dict(resolve(with_parameters(properties(stack, name), **parameters)))


@pytest.mark.parametrize(
    ("parameter", "maximum"),
    [("SignupSilenceHours", LONGEST_EVALUATION_SECONDS // 3600), ("SignupSurgePerMinute", 600_000)],
)
def test_the_signup_alarm_parameters_are_off_by_default_and_bounded(
    translated: Template, parameter: str, maximum: int
) -> None:
    definition = translated["Parameters"][parameter]
    assert (definition["Type"], definition["Default"]) == ("Number", 0)
    assert (definition["MinValue"], definition["MaxValue"]) == (0, maximum)
    assert f"{maximum:,}" in " ".join(definition["Description"].split()), "the description states the bound"


def test_with_the_defaults_no_signup_alarm_exists(translated: Template) -> None:
    alarms = resources(deployed(translated), "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(EXPECTED_ALARMS) - SIGNUP_ALARMS
    assert set(resources(deployed(translated, SignupSilenceHours="6"), "AWS::CloudWatch::Alarm")) - set(alarms) == {
        "SignupSilenceAlarm"
    }
    assert set(resources(deployed(translated, SignupSurgePerMinute="100"), "AWS::CloudWatch::Alarm")) - set(alarms) == {
        "SignupSurgeAlarm"
    }


def test_the_silence_alarm_fires_after_the_parameters_hours_without_a_signup(translated: Template) -> None:
    alarm = signup_alarm(translated, "SignupSilenceAlarm", SignupSilenceHours=6, SignupSurgePerMinute=100)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("SignupWebhooks", "Signups", "Sum")
    # Six one-hour periods in a row with fewer than one signup each, a period without data counting as one.
    assert (alarm["Period"], alarm["EvaluationPeriods"]) == (3600, 6)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "LessThanThreshold")
    assert alarm["TreatMissingData"] == "breaching"
    assert "DatapointsToAlarm" not in alarm  # all of them
    assert alarm["AlarmActions"] == alarm["OKActions"] == ["<AlarmTopic>"]
    longest = signup_alarm(translated, "SignupSilenceAlarm", SignupSilenceHours=168)
    assert longest["Period"] * longest["EvaluationPeriods"] == LONGEST_EVALUATION_SECONDS


def test_the_surge_alarm_fires_on_a_minute_with_more_signups_than_the_parameter(translated: Template) -> None:
    alarm = signup_alarm(translated, "SignupSurgeAlarm", SignupSilenceHours=6, SignupSurgePerMinute=100)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("SignupWebhooks", "Signups", "Sum")
    assert (alarm["Period"], alarm["EvaluationPeriods"]) == (60, 1)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (100, "GreaterThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == alarm["OKActions"] == ["<AlarmTopic>"]


@pytest.mark.parametrize("name", sorted(SIGNUP_ALARMS))
def test_the_signup_alarms_watch_the_namespace_and_service_the_signup_function_publishes_under(
    translated: Template, name: str
) -> None:
    # signup_hooks.metrics takes both from these variables (tests/integration/test_signup_alarm_metric.py runs the
    # handler and compares its metric document with the alarms).
    variables = environment(translated, "SignupFunction")
    alarm = signup_alarm(translated, name, SignupSilenceHours=6, SignupSurgePerMinute=100)
    assert alarm["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Dimensions"] == [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
