"""What a run costs, in USD, from counted requests and measured time.

Default unit prices per region (overridable under `pricing:`):

- SQS standard: $0.40 per million requests, each 64 KB chunk of a
  request's payload billed as one request, empty receives included
  (§3.2, §3.4, §3.6-3.7). The free tier is not subtracted.
- Lambda: $0.20 per million requests; $0.0000166667 per GB-second on
  x86_64 and $0.0000133334 on arm64, first pricing tier; duration
  rounded up to 1 ms, INIT included (§6.1-6.6).
- Instances of services A and B: an m7g.large on demand, $0.0816/h in
  us-east-1 (third-party rate card, June 2026) and $0.1052/h in Tokyo
  (not confirmed; set `pricing.*_instance_hour` for your own type).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_PRICES",
    "SECONDS_PER_MONTH",
    "async_cost",
    "prices_for",
    "sync_cost",
]

SECONDS_PER_MONTH = 30 * 86400.0

DEFAULT_PRICES = {
    "us-east-1": {
        "sqs_per_million_requests": 0.40,
        "lambda_per_million_requests": 0.20,
        "lambda_per_gb_second": {"x86_64": 0.0000166667, "arm64": 0.0000133334},
        "frontend_instance_hour": 0.0816,
        "backend_instance_hour": 0.0816,
    },
    "ap-northeast-1": {
        "sqs_per_million_requests": 0.40,
        "lambda_per_million_requests": 0.20,
        "lambda_per_gb_second": {"x86_64": 0.0000166667, "arm64": 0.0000133334},
        "frontend_instance_hour": 0.1052,
        "backend_instance_hour": 0.1052,
    },
}


def prices_for(pricing, architecture: str = "x86_64") -> dict[str, float]:
    """Return the unit prices in force: region defaults, then overrides."""
    prices = dict(DEFAULT_PRICES[pricing.region])
    prices["lambda_per_gb_second"] = prices["lambda_per_gb_second"][architecture]
    for key in prices:
        override = getattr(pricing, key, None)
        if override is not None:
            prices[key] = override
    return prices


def _instances_usd(
    instance_seconds: dict[str, float], prices: dict[str, float]
) -> dict:
    return {
        f"{name}_instances": seconds / 3600 * prices[f"{name}_instance_hour"]
        for name, seconds in instance_seconds.items()
    }


def async_cost(
    billable_requests: int,
    invocations: int,
    gb_seconds: float,
    instance_seconds: dict[str, float],
    prices: dict[str, float],
) -> dict[str, float]:
    """Return the async topology's bill, by part and in total."""
    parts = {
        "sqs_requests": billable_requests / 1e6 * prices["sqs_per_million_requests"],
        "lambda_requests": invocations / 1e6 * prices["lambda_per_million_requests"],
        "lambda_duration": gb_seconds * prices["lambda_per_gb_second"],
        **_instances_usd(instance_seconds, prices),
    }
    return {**parts, "total": sum(parts.values())}


def sync_cost(instance_seconds: dict[str, float], prices: dict[str, float]) -> dict:
    """Return the sync topology's bill: instance-hours of A and B."""
    parts = _instances_usd(instance_seconds, prices)
    return {**parts, "total": sum(parts.values())}
