"""Turn a finished topology into the numbers of `summary.json`.

Both topologies report what the user saw (requests, availability,
response latency, throughput, cost); the async one adds what happened to
the messages, with a conservation check that every message sent is
accounted for exactly once.
"""

from __future__ import annotations

from qsim.cost import SECONDS_PER_MONTH, async_cost, prices_for, sync_cost

__all__ = ["summarize"]


def summarize(topology, scenario) -> dict:
    """Return the summary of one finished topology."""
    if topology.name == "async":
        return _async(topology, scenario)
    return _sync(topology, scenario)


def _users(record) -> dict:
    answered = record.succeeded + record.failed
    return {
        "requests": record.requests,
        "succeeded": record.succeeded,
        "failed": record.failed,
        "in_progress_at_end": record.requests - answered,
        "availability": record.succeeded / answered if answered else None,
        "failures": dict(sorted(record.failures.items())),
        "response_latency_ms": record.response.stats_ms(),
    }


def _pools(pools: dict) -> tuple[dict, dict]:
    stats, instance_seconds = {}, {}
    for name, pool in pools.items():
        instance_seconds[name] = pool.instance_area
        stats[name] = {
            "utilization": pool.busy_area / pool.capacity_area
            if pool.capacity_area
            else 0.0,
            "peak_waiting": pool.peak_waiting,
            "instance_hours": pool.instance_area / 3600,
            "instances_at_end": pool.instances,
        }
    return stats, instance_seconds


def _money(cost: dict, duration_s: float) -> dict:
    scale = SECONDS_PER_MONTH / duration_s
    return {**cost, "per_month": {key: value * scale for key, value in cost.items()}}


def _sync(topology, scenario) -> dict:
    duration = scenario.duration
    record = topology.record
    services, instance_seconds = _pools(topology.flow.pools())
    cost = sync_cost(instance_seconds, prices_for(scenario.pricing))
    return {
        **_users(record),
        "throughput_rps": record.succeeded / duration,
        "services": services,
        "cost_usd": _money(cost, duration),
    }


def _async(topology, scenario) -> dict:
    duration = scenario.duration
    record, queue, esm = topology.record, topology.queue, topology.esm
    at_end = queue.finish(duration)
    q, e = queue.totals, esm.totals
    in_queue = at_end["visible"] + at_end["in_flight"] + at_end["delayed"]
    pools = topology.flow.pools() if topology.flow is not None else {}
    services, instance_seconds = _pools(pools)
    prices = prices_for(scenario.pricing, scenario.function.architecture)
    billable = sum(
        q[k]
        for k in (
            "send_requests",
            "receive_requests",
            "delete_requests",
            "change_visibility_requests",
        )
    )
    gb_seconds = esm.billed_s * esm.memory_gb
    cost = async_cost(billable, e["invocations"], gb_seconds, instance_seconds, prices)
    accounted = e["processed"] + q["dead_lettered"] + q["expired"] + in_queue
    return {
        **_users(record),
        "throughput_rps": e["processed"] / duration,
        "messages_sent": q["sent"],
        "processed": e["processed"],
        "dead_lettered": q["dead_lettered"],
        "expired": q["expired"],
        "in_queue_at_end": in_queue,
        "queue_at_end": {
            key: at_end[key] for key in ("visible", "in_flight", "delayed")
        },
        "duplicate_deliveries": e["duplicate_deliveries"],
        "duplicate_copies": {
            "dead_lettered": q["copies_dead_lettered"],
            "expired": q["copies_expired"],
            "in_queue_at_end": at_end["copies"],
        },
        "conservation": {
            "sent": q["sent"],
            "accounted": accounted,
            "balanced": accounted == q["sent"],
        },
        "invocations": e["invocations"],
        "errors": e["errors"],
        "timeouts": e["timeouts"],
        "message_failures": e["message_failures"],
        "throttles": e["throttles"],
        "cold_starts": topology.environments.cold_starts,
        "max_concurrency": esm.max_running,
        "end_to_end_latency_ms": record.end_to_end.stats_ms(),
        "api_calls": {
            "send": q["send_requests"],
            "receive": q["receive_calls"],
            "empty_receives": q["empty_receives"],
            "delete": q["delete_requests"],
            "change_visibility": q["change_visibility_requests"],
            "billable": billable,
        },
        "lambda_gb_seconds": gb_seconds,
        "peak_messages_in_system": topology.peak_messages,
        "services": services,
        "cost_usd": _money(cost, duration),
    }
