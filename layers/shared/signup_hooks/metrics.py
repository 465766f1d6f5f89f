"""Metrics in CloudWatch embedded metric format (Powertools Metrics), safe to record from the delivery threads.

Powertools keeps one metric set per process, in plain dicts, and prints a document from whichever thread adds the
100th value of a metric. Neither is safe from the notifier's delivery threads (a lost update; an EMF line split by a
log line). So the threads only record into a small tally behind a lock, and `log_metrics`, the handlers' decorator,
moves the tally into Powertools' set on the handler's own thread, after the deliveries have joined, just before
Powertools flushes it. Values add up: `Deliveries` is one value per invocation (the count), `DeliveryLatency` one
value per attempt.

`DeliveryFailures` is published twice, as CloudWatch needs one metric per dimension set: with the service dimension
only (the total, on the dashboard) in the invocation's document, and with `reason` too in one document per reason, so
the reason dimension never lands on the other metrics.

Namespace and service dimension come from POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME (template Globals).
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

DEFAULT_NAMESPACE = "SignupWebhooks"  # the template's POWERTOOLS_METRICS_NAMESPACE, should the variable be missing

SIGNUPS = "Signups"
DELIVERIES = "Deliveries"
DELIVERY_FAILURES = "DeliveryFailures"
DELIVERY_LATENCY = "DeliveryLatency"
DEAD_LETTERED = "DeadLettered"
REDRIVEN = "Redriven"
RETRIES_SCHEDULED = "RetriesScheduled"  # a notification handed to the retry schedule
RECOVERED = "Recovered"  # delivered by a scheduled retry
RETRIES_EXHAUSTED = "RetriesExhausted"  # the schedule ended without a delivery (then the dead-letter queue)
ENDPOINT_FAILING_MINUTES = "EndpointFailingMinutes"  # since the receiver's first failure in a row; 0 when healthy

metrics = Metrics()
if not metrics.provider.namespace:
    metrics.provider.namespace = DEFAULT_NAMESPACE

# A function with no metric of its own in an invocation (the authorizer, an admin GET) is not an error.
warnings.filterwarnings("ignore", message="No application metrics to publish", module="aws_lambda_powertools")

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_latencies: list[float] = []
_failures: Counter[str] = Counter()  # by reason
_failing_minutes: list[float] = []

Handler = TypeVar("Handler", bound=Callable[..., Any])


def count(name: str, value: int = 1) -> None:
    """Add to a count metric (Signups, Deliveries, DeadLettered, Redriven). Safe from any thread."""
    with _lock:
        _counts[name] += value


def latency(milliseconds: float) -> None:
    """One delivery attempt's duration, in milliseconds. Safe from any thread."""
    with _lock:
        _latencies.append(float(milliseconds))


def failure(reason: str) -> None:
    """One notification that could not be delivered, and why (a results.Reason). Safe from any thread."""
    with _lock:
        _counts[DELIVERY_FAILURES] += 1
        _failures[reason] += 1


def failing_minutes(minutes: float) -> None:
    """How long the receiver has been failing, at one attempt's outcome (the EndpointFailing alarm's metric)."""
    with _lock:
        _failing_minutes.append(round(minutes, 2))


def publish() -> None:
    """Move the tally into Powertools' metric set and write one document per failure reason. Handler thread only."""
    with _lock:
        counts, latencies, failures = dict(_counts), list(_latencies), dict(_failures)
        failing = list(_failing_minutes)
        _counts.clear()
        _latencies.clear()
        _failures.clear()
        _failing_minutes.clear()
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for milliseconds in latencies:
        metrics.add_metric(name=DELIVERY_LATENCY, unit=MetricUnit.Milliseconds, value=milliseconds)
    for minutes in failing:
        metrics.add_metric(name=ENDPOINT_FAILING_MINUTES, unit=MetricUnit.Count, value=minutes)
    for reason, failed in sorted(failures.items()):
        with single_metric(
            name=DELIVERY_FAILURES,
            unit=MetricUnit.Count,
            value=failed,
            namespace=metrics.provider.namespace,
            default_dimensions={"reason": reason},
        ):
            pass  # single_metric adds the service dimension and prints the document on exit


def log_metrics(handler: Handler) -> Handler:
    """The handlers' decorator: Powertools' `log_metrics` with the cold-start metric, fed from the tally first."""

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            publish()

    return cast(Handler, metrics.log_metrics(run, capture_cold_start_metric=True))


def discard() -> None:
    """Forget what was recorded and not yet published (tests)."""
    with _lock:
        _counts.clear()
        _latencies.clear()
        _failures.clear()
        _failing_minutes.clear()
    metrics.provider.clear_metrics()
