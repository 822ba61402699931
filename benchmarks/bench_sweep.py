"""Speed of `qsim.sweep`: speed-up from 1 to 2 workers, overhead per point.

Run by hand (not a test): `python benchmarks/bench_sweep.py [--repeats 3]`.
Reports medians over the repeats, since the machine may be shared:

- a 16-point sweep (4 batch sizes x 4 visibility timeouts, one
  replication each) of the steady scenario cut to one minute (about
  half a second per run), on 1 worker (in this process) and on 2
  worker processes: the speed-up, whose target is at least 1.8x;
- the same 16 runs called directly through `qsim.run`, so the sweep's
  own overhead per point (planning, checking every point, seeds,
  flattening, the table) shows as the difference;
- a 16-point sweep of a one-second scenario, where the fixed cost per
  point dominates: 1 worker and 2 workers (pool start-up included).

The load average is printed too: other processes on the machine take
cores from the 2-worker run and lower the speed-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import qsim
from qsim.scenario import load_scenario
from qsim.sweeps import expand_grid

VARY = {
    "function.batch_size": [1, 2, 5, 10],
    "queue.visibility_timeout": ["30s", "1m", "2m", "5m"],
}
POINTS = 16


def _median_s(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _direct(scenario) -> None:
    """The same runs as the sweep, without the sweep."""
    for point in expand_grid(VARY):
        qsim.run(scenario, 1, overrides=point.overrides)


def _sweep(scenario, workers: int) -> None:
    result = qsim.sweep(scenario, VARY, replications=1, workers=workers)
    assert result.ok and len(result.plan.points) == POINTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    steady = load_scenario("steady", {"duration": "1m"})
    tiny = load_scenario("steady", {"duration": "1s"})
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    direct = _median_s(lambda: _direct(steady), args.repeats)
    one = _median_s(lambda: _sweep(steady, 1), args.repeats)
    two = _median_s(lambda: _sweep(steady, 2), args.repeats)
    print(
        f"16 points of steady (1 min): direct qsim.run {direct:.2f} s, "
        f"1 worker {one:.2f} s, 2 workers {two:.2f} s"
    )
    print(f"  speed-up 1 -> 2 workers: {one / two:.2f}x (target >= 1.8x)")
    print(
        f"  sweep overhead per point, 1 worker: {(one - direct) / POINTS * 1e3:.1f} ms"
    )
    print(
        f"  2 workers above an ideal halving, per point: "
        f"{(two - one / 2) / POINTS * 1e3:.1f} ms"
    )

    tiny_one = _median_s(lambda: _sweep(tiny, 1), args.repeats)
    tiny_two = _median_s(lambda: _sweep(tiny, 2), args.repeats)
    print(
        f"16 points of a 1 s scenario: 1 worker {tiny_one / POINTS * 1e3:.1f} ms "
        f"per point, 2 workers {tiny_two / POINTS * 1e3:.1f} ms per point "
        f"(pool start-up included)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
