"""The speed benchmark's textbook model really models qsim's flow.

`benchmarks/bench_spike.py` quotes qsim's speed-up over a textbook SimPy
model of the same flow; the figure means something only if the two
agree. On a shortened spike (2 min at 50/s, 1 min at 400/s, 3 min at
50/s) over 5 seeds a side: counts agree within 3%, the scaler's ramp
gives the same peak concurrency within 2, and the mean latency (backlog
included) differs by under 4 standard errors of the difference, with
that standard error under 8% of the mean so the check can see a 30% gap.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_means_agree

import qsim

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from textbook import run_textbook  # noqa: E402

SEEDS = range(5)
SHORT_SPIKE = {
    "topologies": ["async"],
    "duration": "6m",
    "workload.stages": [
        {"duration": "2m", "rate": 50},
        {"duration": "1m", "rate": 400},
        {"duration": "3m", "rate": 50},
    ],
}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, dict[str, np.ndarray]]:
    scenario = qsim.load_scenario("spike", SHORT_SPIKE)
    ours, theirs = [], []
    for seed in SEEDS:
        summary = qsim.run(scenario, seed=seed).topologies["async"]
        ours.append(
            {
                "processed": summary["processed"],
                "invocations": summary["invocations"],
                "max_concurrency": summary["max_concurrency"],
                "latency_mean_ms": summary["end_to_end_latency_ms"]["mean"],
            }
        )
        theirs.append(run_textbook(scenario, seed))
    return {
        side: {key: np.array([row[key] for row in rows]) for key in ours[0]}
        for side, rows in (("qsim", ours), ("textbook", theirs))
    }


@pytest.mark.slow
@pytest.mark.parametrize("key", ["processed", "invocations"])
def test_counts_agree(outcomes, key):
    ours, theirs = outcomes["qsim"][key].mean(), outcomes["textbook"][key].mean()
    assert ours == pytest.approx(theirs, rel=0.03)


@pytest.mark.slow
def test_scaler_ramp_agrees(outcomes):
    ours = outcomes["qsim"]["max_concurrency"].mean()
    theirs = outcomes["textbook"]["max_concurrency"].mean()
    assert abs(ours - theirs) <= 2


@pytest.mark.slow
def test_mean_latency_agrees(outcomes):
    assert_means_agree(
        outcomes["qsim"]["latency_mean_ms"],
        outcomes["textbook"]["latency_mean_ms"],
        "mean latency",
        max_relative_se=0.08,
    )
