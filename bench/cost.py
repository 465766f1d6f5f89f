"""Figure 7: what a million signups cost on AWS, on paper, from list prices and the durations measured here."""

from __future__ import annotations

import math
from typing import Any

from bench.static import function_environments
from local.template import load_template

PRICES_AS_OF = "2025-06 (us-east-1 list prices, on-demand, no free tier; check aws.amazon.com/pricing before quoting)"
PRICES = {  # USD
    "api_gateway_http_per_million_requests": 1.00,  # first 300 M requests a month; metered per 512 KB
    "lambda_arm64_per_gb_second": 0.0000133334,  # first 7.5 billion GB-s a month
    "lambda_per_million_requests": 0.20,
    "dynamodb_on_demand_per_million_write_units": 0.625,  # since the 2024-11-01 price cut
    "dynamodb_stream_reads_by_lambda": 0.0,  # GetRecords by a Lambda trigger is free
    "sqs_standard_per_million_requests": 0.40,  # per 64 KB chunk; only failed notifications are sent
    "ssm_standard_parameter_get": 0.0,  # standard parameters on the standard throughput tier
    "cloudwatch_logs_ingestion_per_gb": 0.50,
    "secrets_manager_per_secret_month": 0.40,  # plus 0.05 per 10,000 calls: admin requests only, cached 5 min
}
SIGNUPS = 1_000_000
# Signup: one transaction of two Puts (profile and credential, each under 1 KB); a transactional write costs
# 2 write units per KB, so 2 items x 2 = 4 write units.
SIGNUP_WRITE_UNITS = 4
# Idempotency record (Powertools): a Put when a delivery starts, an Update when it completes, each under 1 KB.
IDEMPOTENCY_WRITE_UNITS = 2


def per_million_signups(usage: dict[str, Any], failure_rate: float = 0.0) -> dict[str, Any]:
    """Cost lines for a million signups, from the instant-receiver run's Lambda usage (`flow._lambda_usage`)."""
    memory = function_settings("MemorySize", 128)
    signup_gb, notifier_gb = memory.get("SignupFunction", 1024) / 1024, memory.get("NotifierFunction", 256) / 1024
    notifier_invocations = SIGNUPS / max(usage["notifier_mean_batch"], 1.0)
    idempotency = "IDEMPOTENCY_TABLE" in function_environments().get("functions/notifier", {})
    gb_second, write_unit = PRICES["lambda_arm64_per_gb_second"], PRICES["dynamodb_on_demand_per_million_write_units"]
    lines = {
        "api_gateway_http": SIGNUPS / 1e6 * PRICES["api_gateway_http_per_million_requests"],
        "lambda_signup_requests": SIGNUPS / 1e6 * PRICES["lambda_per_million_requests"],
        # Lambda bills each invocation rounded up to the millisecond.
        "lambda_signup_compute": SIGNUPS * math.ceil(usage["signup_mean_ms"]) / 1000 * signup_gb * gb_second,
        "lambda_notifier_requests": notifier_invocations / 1e6 * PRICES["lambda_per_million_requests"],
        "lambda_notifier_compute": SIGNUPS * usage["notifier_ms_per_record"] / 1000 * notifier_gb * gb_second,
        "dynamodb_signup_writes": SIGNUPS * SIGNUP_WRITE_UNITS / 1e6 * write_unit,
        "dynamodb_idempotency_writes": SIGNUPS * IDEMPOTENCY_WRITE_UNITS / 1e6 * write_unit if idempotency else 0.0,
        "dynamodb_stream_reads": 0.0,
        "sqs_dead_letters": SIGNUPS * failure_rate / 1e6 * PRICES["sqs_standard_per_million_requests"],
        "ssm_parameter_reads": 0.0,
        "cloudwatch_logs": SIGNUPS * usage["log_bytes_per_signup"] / 1e9 * PRICES["cloudwatch_logs_ingestion_per_gb"],
    }
    return {
        "signups": SIGNUPS,
        "usd": {name: round(value, 2) for name, value in lines.items()},
        "total_usd": round(sum(lines.values()), 2),
        "fixed_monthly_usd": {"secrets_manager_admin_token": PRICES["secrets_manager_per_secret_month"]},
        "inputs": {
            "memory_mb": memory,
            "signup_mean_ms": usage["signup_mean_ms"],
            "notifier_ms_per_record": usage["notifier_ms_per_record"],
            "notifier_mean_batch": usage["notifier_mean_batch"],
            "log_bytes_per_signup": usage["log_bytes_per_signup"],
            "signup_write_units": SIGNUP_WRITE_UNITS,
            "idempotency_write_units": IDEMPOTENCY_WRITE_UNITS if idempotency else 0,
            "failure_rate": failure_rate,
        },
        "prices": PRICES,
        "prices_as_of": PRICES_AS_OF,
    }


def function_settings(name: str, lambda_default: int) -> dict[str, int]:
    """Each function's `name` (MemorySize, Timeout) in template.yaml: its own, else Globals', else Lambda's default."""
    template = load_template()
    globals_value = int(template.get("Globals", {}).get("Function", {}).get(name, lambda_default))
    return {
        logical_id: int(resource["Properties"].get(name, globals_value))
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
