"""Speed of qsim on the spike scenario, beside a textbook SimPy model.

Run by hand (not a test): `python benchmarks/bench_spike.py [--repeats 3]`.
Reports medians, since the machine may be shared (the two models run
alternately, and the speed-up is the median of the pairs' ratios):

- simulated messages per wall-clock second, async topology alone, for
  qsim and for the textbook model of the same flow (`textbook.py`);
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

from textbook import run_textbook  # noqa: E402

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


def main() -> None:
    """Measure and print the figures quoted in the issue's closing note."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spike = qsim.load_scenario("spike", {"topologies": ["async"]})
    # Alternate the two models so that a busy spell on the shared machine
    # slows both; the speed-up is the median of the pairs' ratios.
    textbook_times, qsim_times = [], []
    for _ in range(args.repeats):
        textbook_s, counts = _median_time(lambda: run_textbook(spike), 1)
        qsim_s, result = _median_time(lambda: qsim.run(spike), 1)
        textbook_times.append(textbook_s)
        qsim_times.append(qsim_s)
    textbook_s = statistics.median(textbook_times)
    qsim_s = statistics.median(qsim_times)
    sent = result.topologies["async"]["messages_sent"]
    figures = {
        "messages": sent,
        "textbook_s": textbook_s,
        "textbook_msgs_per_s": counts["processed"] / textbook_s,
        "qsim_async_s": qsim_s,
        "qsim_msgs_per_s": sent / qsim_s,
        "speedup_vs_textbook": statistics.median(
            t * sent / (q * counts["processed"])
            for t, q in zip(textbook_times, qsim_times, strict=True)
        ),
    }
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
