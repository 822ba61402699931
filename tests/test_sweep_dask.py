"""Sweeps on a Dask cluster: a LocalCluster of two worker processes."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from qsim.cli import app
from qsim.errors import QsimError
from qsim.sweeps import sweep
from qsim.sweeps.store import RunStore

distributed = pytest.importorskip("distributed")

SHORT = {"name": "short", "duration": "1m", "workload": {"rate": 10}}
VARY = {"function.batch_size": [1, 10], "queue.visibility_timeout": ["30s", "2m"]}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        yield cluster


def test_dask_gives_the_same_table_as_one_local_worker(cluster):
    local = sweep(SHORT, VARY, replications=2, workers=1)
    with distributed.Client(cluster) as client:
        remote = sweep(SHORT, VARY, replications=2, executor=client)
    pd.testing.assert_frame_equal(remote.runs, local.runs)


def test_cli_runs_on_a_scheduler_address(cluster, tmp_path):
    scenario = tmp_path / "short.yaml"
    scenario.write_text(yaml.safe_dump(SHORT))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "sweep", str(scenario), "--vary", "function.batch_size=1,10",
            "--replications", "2", "--scheduler", cluster.scheduler_address,
            "--out", str(out), "--no-report",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(RunStore(out).read()) == 2 * 2 * 2


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(QsimError, match=r"pip install 'qsim\[dask\]'"):
        sweep(SHORT, {"function.batch_size": [1]}, executor="tcp://localhost:8786")
