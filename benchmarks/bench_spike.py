"""Speed of qsim on the spike scenario, beside two textbook SimPy models.

Run by hand (not a test): `python benchmarks/bench_spike.py [--repeats 3]`.
Reports medians, since the machine may be shared (the models run
alternately, and each speed-up is the median of the rounds' ratios):

- simulated messages per wall-clock second, async topology alone, for
  qsim, for the textbook model of the same flow and for the minimal
  textbook model that does much less (`textbook.py`), with qsim's
  speed-up over each, and the main outcomes of qsim and the textbook
  model side by side (they model the same flow, so they should agree
  up to the seed);
- the wall time of `qsim run scenarios/spike.yaml` as a whole (both
  topologies, files and report) and of `qsim --help`;
- peak memory (max RSS) of a run, and how it changes when the run is
  made 8 times longer at the same rate: it should grow with what is in
  flight, not with the run's length.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from textbook import run_minimal, run_textbook  # noqa: E402

import qsim  # noqa: E402


def _median_time(action, repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def _command_time(args: list[str], repeats: int) -> float:
    def once() -> None:
        subprocess.run(args, check=True, capture_output=True, cwd=ROOT)

    return _median_time(once, repeats)[0]


# The child's own peak: Linux keeps ru_maxrss across exec, so a child
# started from this (large) process would report at least our size.
_PEAK_PROBE = """
import resource
try:
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status
                       if line.startswith("VmHWM:"))
except OSError:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak_kb)
"""


def _peak_rss_mb(code: str) -> float:
    """Run `code` in a fresh interpreter; return its own peak RSS in MB."""
    out = subprocess.run(
        [sys.executable, "-c", code + "\n" + _PEAK_PROBE],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return int(out.stdout.split()[-1]) / 1024


def _side_by_side(ours: dict, textbook: dict) -> dict:
    """Return qsim's and the textbook model's main outcomes, paired.

    The two model the same flow with different random streams, so they
    should agree within about 5% (the spike's backlog, and so its
    latencies, swings by about that much from seed to seed).
    """
    latency = ours["end_to_end_latency_ms"]
    pairs = {
        "processed": (ours["processed"], textbook["processed"]),
        "invocations": (ours["invocations"], textbook["invocations"]),
        "cold_starts": (ours["cold_starts"], textbook["cold_starts"]),
        "max_concurrency": (ours["max_concurrency"], textbook["max_concurrency"]),
        "latency_mean_ms": (latency["mean"], textbook["latency_mean_ms"]),
        "latency_p50_ms": (latency["p50"], textbook["latency_p50_ms"]),
        "latency_p99_ms": (latency["p99"], textbook["latency_p99_ms"]),
    }
    return {name: f"{a:,.0f} vs {b:,.0f}" for name, (a, b) in pairs.items()}


def _race(repeats: int) -> dict:
    """Time qsim and both textbook models on the spike, alternately."""
    spike = qsim.load_scenario("spike", {"topologies": ["async"]})
    # Alternate the models so that a busy spell on the shared machine
    # slows all of them; each speed-up is the median of paired ratios.
    times: dict[str, list[float]] = {"qsim": [], "textbook": [], "minimal": []}
    for _ in range(repeats):
        seconds, textbook = _median_time(lambda: run_textbook(spike), 1)
        times["textbook"].append(seconds)
        seconds, minimal = _median_time(lambda: run_minimal(spike), 1)
        times["minimal"].append(seconds)
        seconds, result = _median_time(lambda: qsim.run(spike), 1)
        times["qsim"].append(seconds)
    ours = result.topologies["async"]
    done = ours["processed"]  # messages/s counts processed ones, as below
    figures = {
        "messages": ours["messages_sent"],
        "qsim_async_s": statistics.median(times["qsim"]),
    }
    figures["qsim_msgs_per_s"] = done / figures["qsim_async_s"]
    for name, processed in (
        ("textbook", textbook["processed"]),
        ("minimal", minimal["processed"]),
    ):
        figures[f"{name}_s"] = statistics.median(times[name])
        figures[f"{name}_msgs_per_s"] = processed / figures[f"{name}_s"]
        figures[f"speedup_vs_{name}"] = statistics.median(
            t * done / (q * processed)
            for t, q in zip(times[name], times["qsim"], strict=True)
        )
    figures["same_flow_check"] = _side_by_side(ours, textbook)
    return figures


def main() -> None:
    """Measure and print the figures quoted in the issue's closing note."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    figures = _race(args.repeats)
    with tempfile.TemporaryDirectory() as out:
        figures["qsim_run_spike_s"] = _command_time(
            ["qsim", "run", "scenarios/spike.yaml", "--out", out], args.repeats
        )
    figures["qsim_help_s"] = _command_time(["qsim", "--help"], max(5, args.repeats))
    run = (
        "import qsim; qsim.run('steady', "
        "overrides={{'duration': '{d}', 'topologies': ['async']}})"
    )
    figures["peak_rss_mb_15m"] = _peak_rss_mb(run.format(d="15m"))
    figures["peak_rss_mb_2h"] = _peak_rss_mb(run.format(d="2h"))
    print(
        json.dumps(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
