"""The signup alarms watch the very metric the signup function publishes: a CloudWatch metric is its namespace, name
and whole dimension set, and an alarm on any other one stays quiet (silence alarms forever) whatever users do."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from signup_hooks import metrics

from functions.signup import app as signup_app
from local.template import load_template
from tests.helpers import deployed, environment, load_event, properties, translate

SIGNUP_ALARMS = ("SignupSilenceAlarm", "SignupSurgeAlarm")


@pytest.fixture(autouse=True)
def no_leftover_metrics() -> Iterator[None]:
    metrics.discard()
    yield
    metrics.discard()


def published_signups(capsys: pytest.CaptureFixture[str]) -> tuple[str, str, list[dict[str, str]]]:
    """Namespace, metric name and dimensions of the signup count in the metric documents printed so far."""
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [(document, directive)] = [
        (document, directive)
        for document in documents
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", [])
        if metrics.SIGNUPS in [metric["Name"] for metric in directive["Metrics"]]
    ]
    [dimension_names] = directive["Dimensions"]  # one dimension set: one CloudWatch metric
    dimensions = [{"Name": name, "Value": document[name]} for name in dimension_names]
    return directive["Namespace"], metrics.SIGNUPS, dimensions


@pytest.mark.parametrize("alarm_name", SIGNUP_ALARMS)
def test_the_signup_alarm_watches_the_metric_a_signup_publishes(aws, lambda_context, capsys, alarm_name):
    translated = translate(load_template())
    # The handler runs with this test session's environment: it must be the one the template gives the function.
    template_variables = environment(translated, "SignupFunction")
    for variable in ("POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_SERVICE_NAME"):
        assert os.environ[variable] == template_variables[variable], variable
    capsys.readouterr()

    response = signup_app.lambda_handler(load_event("signup_valid"), lambda_context)

    assert response["statusCode"] == 200
    namespace, name, dimensions = published_signups(capsys)
    alarm: dict[str, Any] = properties(
        deployed(translated, SignupSilenceHours="6", SignupSurgePerMinute="100"), alarm_name
    )
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"]) == (namespace, name, dimensions)
