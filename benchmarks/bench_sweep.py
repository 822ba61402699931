"""Speed of `qsim.sweep`: speed-up from 1 to 2 workers, overhead per point.

Run by hand (not a test): `python benchmarks/bench_sweep.py [--repeats 5]`.
Each round times, one after the other: the sweep's 16 runs called
directly through `qsim.run`, then the sweep on 1 worker (in this
process), then on 2 worker processes. The sweep varies 4 batch sizes x
4 visibility timeouts, one replication each, on the steady scenario cut
to one minute (about a quarter of a second per run). It prints medians:

- the speed-up from 1 to 2 workers (target: at least 1.8x);
- the sweep's own overhead per point on 1 worker (planning, checking
  every point, seeds, flattening, the table): sweep minus direct runs;
- what 2 workers lose per point against an ideal halving (pool
  start-up, the last run's tail);
- the time per point of a sweep of a one-second scenario, where the
  fixed costs dominate.

The machine may be shared. Each round also measures the CPU time that
*other* processes took meanwhile (from /proc/stat, Linux), and the
speed-up is given both over all rounds and over the quiet ones, where
others took less than 5% of a core.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import qsim
from qsim.scenario import load_scenario
from qsim.sweeps.grid import make_plan

VARY = {
    "function.batch_size": [1, 2, 5, 10],
    "queue.visibility_timeout": ["30s", "1m", "2m", "5m"],
}
POINTS = 16
QUIET_SHARE = 0.05  # of one core, taken by other processes


def _busy_s() -> float:
    """Return the CPU seconds all processes have used (0 off Linux)."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:9]]
    except OSError:
        return 0.0
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def _own_s() -> float:
    """Return the CPU seconds of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _rounds(actions: dict, repeats: int) -> tuple[dict, list[float]]:
    """Time each action once per round, the actions interleaved.

    Also return, per round, the largest share of a core that other
    processes took while an action ran.
    """
    times: dict[str, list[float]] = {name: [] for name in actions}
    others: list[float] = []
    for _ in range(repeats):
        worst = 0.0
        for name, action in actions.items():
            busy, own, started = _busy_s(), _own_s(), time.perf_counter()
            action()
            wall_s = time.perf_counter() - started
            times[name].append(wall_s)
            foreign = (_busy_s() - busy) - (_own_s() - own)
            worst = max(worst, foreign / wall_s)
        others.append(worst)
    return times, others


def _direct(plan) -> None:
    """Run the sweep's runs, seeds included, without the sweep."""
    for run in plan.runs:
        qsim.run(plan.scenario, run.seed, overrides=run.point.overrides)


def _sweep(scenario, workers: int) -> None:
    result = qsim.sweep(scenario, VARY, replications=1, workers=workers)
    assert result.ok and len(result.plan.points) == POINTS


def _speedups(times: dict, others: list[float]) -> tuple[float, float | None, int]:
    ratios = [a / b for a, b in zip(times["one"], times["two"], strict=True)]
    quiet = [r for r, other in zip(ratios, others, strict=True) if other < QUIET_SHARE]
    return (
        statistics.median(ratios),
        statistics.median(quiet) if quiet else None,
        len(quiet),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--duration", default="1m", help="simulated time per run")
    args = parser.parse_args()
    steady = load_scenario("steady", {"duration": args.duration})
    plan = make_plan(steady, VARY, replications=1)

    actions = {
        "direct": lambda: _direct(plan),
        "one": lambda: _sweep(steady, 1),
        "two": lambda: _sweep(steady, 2),
    }
    times, others = _rounds(actions, args.repeats)
    direct, one, two = (statistics.median(times[k]) for k in ("direct", "one", "two"))
    overall, quiet, n_quiet = _speedups(times, others)
    print(
        f"16 points of steady ({args.duration}), medians of {args.repeats} rounds: "
        f"direct {direct:.2f} s, 1 worker {one:.2f} s, 2 workers {two:.2f} s"
    )
    quiet_text = f"{quiet:.2f}x" if quiet else "none quiet"
    print(
        f"  speed-up 1 -> 2 workers: {overall:.2f}x over all rounds, {quiet_text} "
        f"over the {n_quiet} quiet rounds (target >= 1.8x)"
    )
    print(f"  other processes took up to {max(others):.0%} of a core in a round")
    print(
        f"  sweep overhead per point, 1 worker: {(one - direct) / POINTS * 1e3:.1f} ms"
    )
    print(
        f"  2 workers above an ideal halving: {(two - one / 2) / POINTS * 1e3:.1f} ms "
        "per point"
    )

    tiny = load_scenario("steady", {"duration": "1s"})
    tiny_times, _ = _rounds(
        {"one": lambda: _sweep(tiny, 1), "two": lambda: _sweep(tiny, 2)}, args.repeats
    )
    tiny_one, tiny_two = (statistics.median(tiny_times[k]) for k in ("one", "two"))
    print(
        f"16 points of a 1 s scenario: {tiny_one / POINTS * 1e3:.1f} ms per point "
        f"on 1 worker, {tiny_two / POINTS * 1e3:.1f} ms on 2 (pool start-up included)"
    )


if __name__ == "__main__":
    main()
