"""Sweeps: grid, seeds, statistics, resuming, failures, report and CLI."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as scipy_stats
from typer.testing import CliRunner

import qsim
from qsim.cli import app
from qsim.errors import QsimError, ScenarioError
from qsim.scenario import load_scenario
from qsim.sweeps import expand_grid, parse_vary, sweep
from qsim.sweeps import worker as sweep_worker
from qsim.sweeps.grid import make_plan, plain_scenario
from qsim.sweeps.stats import aggregate, differences, interval
from qsim.sweeps.store import RunStore

SHORT = {"name": "short", "duration": "1m", "workload": {"rate": 10}}
VARY = {"function.batch_size": [1, 10], "queue.visibility_timeout": ["30s", "2m"]}


@pytest.fixture(scope="module")
def baseline():
    """A 2 x 2 grid, 3 replications each, run in this process."""
    return sweep(SHORT, VARY, replications=3, workers=1)


@pytest.fixture
def scenario_file(tmp_path):
    """Write SHORT (plus any extra keys) to a YAML file; return its path."""

    def write(**extra):
        path = tmp_path / "short.yaml"
        path.write_text(yaml.safe_dump({**SHORT, **extra}))
        return path

    return write


class CutShortError(Exception):
    """Raised by a progress callback to cut a sweep short."""


def stop_after(runs: int):
    def progress(state):
        if state.runs_done == runs:
            raise CutShortError

    return progress


def fail_when(monkeypatch, batch_size: int) -> None:
    """Make every run with this batch size raise (workers=1 runs in-process)."""
    real = sweep_worker.run

    def run(scenario, seed, *, overrides=None):
        if (overrides or {}).get("function.batch_size") == batch_size:
            raise RuntimeError("boom")
        return real(scenario, seed, overrides=overrides)

    monkeypatch.setattr(sweep_worker, "run", run)


# --- the grid ---------------------------------------------------------------


def test_parse_vary_reads_values_as_yaml():
    assert parse_vary("function.batch_size=1,10,100") == (
        "function.batch_size",
        [1, 10, 100],
    )
    assert parse_vary("queue.visibility_timeout = 30s, 2m") == (
        "queue.visibility_timeout",
        ["30s", "2m"],
    )
    key, values = parse_vary(
        "backend.service_time=[{dist: exponential, mean: 5ms}, 10ms]"
    )
    assert values == [{"dist": "exponential", "mean": "5ms"}, "10ms"]


@pytest.mark.parametrize(
    "text", ["function.batch_size", "=1,2", "function.batch_size="]
)
def test_parse_vary_rejects_a_malformed_option(text):
    with pytest.raises(ScenarioError, match=r"--vary: expected dotted.key=value,value"):
        parse_vary(text)


def test_parse_vary_rejects_an_empty_value():
    with pytest.raises(
        ScenarioError, match=r"function.batch_size: empty value in '1,,2'"
    ):
        parse_vary("function.batch_size=1,,2")


def test_grid_is_the_product_with_the_first_key_slowest():
    points = expand_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert [p.index for p in points] == list(range(6))
    assert [tuple(p.overrides.values()) for p in points] == [
        (1, "x"),
        (1, "y"),
        (1, "z"),
        (2, "x"),
        (2, "y"),
        (2, "z"),
    ]
    assert points[4].describe() == "point 4 (a=2, b=y)"


def test_zip_pairs_the_lists():
    points = expand_grid({"a": [1, 2, 3], "b": ["x", "y", "z"]}, zip=True)
    assert [tuple(p.overrides.values()) for p in points] == [
        (1, "x"),
        (2, "y"),
        (3, "z"),
    ]


def test_zip_needs_equal_lengths():
    with pytest.raises(ScenarioError, match=r"equal lengths: a has 3, b has 2"):
        expand_grid({"a": [1, 2, 3], "b": ["x", "y"]}, zip=True)


def test_no_keys_is_one_point_and_a_key_needs_a_list():
    assert [p.overrides for p in expand_grid({})] == [{}]
    with pytest.raises(ScenarioError, match=r"sweep.vary.a: needs a non-empty list"):
        expand_grid({"a": "1,2"})
    with pytest.raises(ScenarioError, match=r"sweep.vary.a: needs a non-empty list"):
        expand_grid({"a": []})


def test_labels_keep_numbers_and_write_the_rest_as_text():
    points = expand_grid({"a": [1, 2.5], "b": ["30s", 60], "c": [{"x": 1}]})
    assert points[0].labels == {"a": 1, "b": "30s", "c": '{"x": 1}'}
    assert points[3].labels["b"] == "60"


def test_every_point_is_checked_before_anything_runs():
    spec = load_scenario(SHORT)
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            "point 1 (function.batch_size=0): function.batch_size: must be at "
            "least 1, got 0"
        ),
    ):
        make_plan(spec, {"function.batch_size": [1, 0, 5]})
    with pytest.raises(ScenarioError, match=r"function.batch_sise: unknown key"):
        make_plan(spec, ["function.batch_sise=1,2"])
    with pytest.raises(ScenarioError, match=r"varied twice"):
        make_plan(spec, ["function.batch_size=1", "function.batch_size=2"])


def test_a_file_name_cannot_be_varied():
    spec = load_scenario("trace-replay")
    with pytest.raises(
        ScenarioError, match=r"workload.trace.file: a sweep cannot vary"
    ):
        make_plan(spec, ["workload.trace.file=a.csv,b.csv"])


def test_the_scenario_sweep_block_is_the_default_and_vary_replaces_it():
    block = {
        "vary": {
            "function.batch_size": [1, 2, 3],
            "queue.visibility_timeout": ["1m", "2m", "3m"],
        },
        "zip": True,
        "replications": 2,
    }
    spec = load_scenario({**SHORT, "sweep": block})
    plan = make_plan(spec)
    assert (len(plan.points), plan.replications, plan.zip) == (3, 2, True)
    plan = make_plan(spec, ["function.batch_size=1,2"])
    assert (len(plan.points), plan.replications, plan.zip) == (2, 2, False)
    assert "sweep" not in plan.scenario


def test_seeds_depend_on_point_and_replication_only():
    spec = load_scenario(SHORT)
    plan = make_plan(spec, VARY, replications=3, seed=7)
    seeds = [run.seed for run in plan.runs]
    assert len(set(seeds)) == len(seeds) == 12
    again = make_plan(spec, VARY, replications=5, seed=7)
    assert [run.seed for run in again.runs if run.replication < 3] == seeds
    other = make_plan(spec, VARY, replications=3, seed=8)
    assert not set(seeds) & {run.seed for run in other.runs}


def test_plain_scenario_carries_the_trace_values():
    spec = load_scenario("trace-replay")
    plain = plain_scenario(spec)
    assert plain["workload"]["trace"]["values"] == list(spec.workload.trace.values)
    assert load_scenario(plain) == spec


# --- running ------------------------------------------------------------------


def test_table_has_a_row_per_point_replication_and_topology(baseline):
    runs = baseline.runs
    assert len(runs) == 4 * 3 * 2
    assert list(runs.columns[:9]) == [
        "point",
        "replication",
        "seed",
        "run_hash",
        "topology",
        "function.batch_size",
        "queue.visibility_timeout",
        "status",
        "error",
    ]
    assert runs["topology"].tolist()[:2] == ["sync", "async"]
    assert {"response_latency_ms.p99", "cost_usd.total", "processed"} <= set(
        runs.columns
    )
    assert (runs["status"] == "ok").all() and baseline.ok
    assert runs.loc[runs["topology"] == "sync", "processed"].isna().all()


def test_both_topologies_of_a_run_share_its_seed(baseline):
    requests = baseline.runs.pivot_table(
        index=["point", "replication"], columns="topology", values="requests"
    )
    assert (requests["sync"] == requests["async"]).all()


def test_two_workers_give_the_same_table_as_one(baseline):
    both = sweep(SHORT, VARY, replications=3, workers=2)
    pd.testing.assert_frame_equal(baseline.runs, both.runs)


def test_library_export_is_the_function():
    assert qsim.sweep is sweep
    assert "sweep" in qsim.__all__


def test_a_failing_point_is_recorded_and_the_others_run(monkeypatch):
    fail_when(monkeypatch, 10)
    result = sweep(
        SHORT, {"function.batch_size": [1, 10, 100]}, replications=2, workers=1
    )
    assert not result.ok
    assert [p.index for p in result.failed_points] == [1]
    failures = result.failures
    assert failures["replication"].tolist() == [0, 1]
    assert failures["error"].eq("RuntimeError: boom").all()
    assert result.points["failed"].tolist() == [0, 2, 0]
    failed_rows = result.runs[result.runs["point"] == 1]
    assert failed_rows["response_latency_ms.p99"].isna().all()
    assert set(result.aggregate(["response_latency_ms.p99"])["point"]) == {0, 2}


# --- statistics -----------------------------------------------------------------


def test_interval_known_case():
    low, high = interval([1, 2, 3, 4, 5])
    # mean 3, s = sqrt(2.5), t(0.975, 4) = 2.776445: half-width 1.963243
    assert low == pytest.approx(3 - 1.963243, abs=1e-6)
    assert high == pytest.approx(3 + 1.963243, abs=1e-6)
    assert all(math.isnan(x) for x in interval([4.0]))


def synthetic_runs(sync: list[float], async_: list[float]) -> pd.DataFrame:
    rows = [
        {
            "point": 0,
            "replication": r,
            "topology": name,
            "status": "ok",
            "error": "",
            "x": value,
        }
        for name, values in (("sync", sync), ("async", async_))
        for r, value in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_aggregate_matches_a_hand_computation():
    values = [12.0, 15.5, 9.25, 11.0]
    runs = synthetic_runs(values, [1.0, 2.0, 3.0, 4.0])
    row = aggregate(runs, ["x"], ("sync", "async")).iloc[0]
    mean = sum(values) / 4
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / 3)
    half = scipy_stats.t.ppf(0.975, 3) * std / 2
    assert (row["topology"], row["n"]) == ("sync", 4)
    assert row["mean"] == pytest.approx(mean)
    assert row["std"] == pytest.approx(std)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((mean - half, mean + half))


def test_difference_is_paired_by_replication():
    runs = synthetic_runs([10.0, 12.0, 14.0], [1.0, 2.0, 3.0])
    row = differences(runs, ["x"]).iloc[0]
    # differences 9, 10, 11: mean 10, s = 1, t(0.975, 2) = 4.302653
    assert (row["n"], row["mean"], row["std"]) == (3, 10.0, 1.0)
    half = 4.302653 / math.sqrt(3)
    assert row["ci_low"] == pytest.approx(10 - half, abs=1e-5)
    assert row["ci_high"] == pytest.approx(10 + half, abs=1e-5)


def test_result_statistics_carry_the_keys(baseline):
    table = baseline.aggregate(["response_latency_ms.p99"], level=0.9)
    assert list(table.columns[:3]) == [
        "point",
        "function.batch_size",
        "queue.visibility_timeout",
    ]
    assert len(table) == 4 * 2 and (table["n"] == 3).all()
    sample = baseline.runs.query("point == 2 and topology == 'async'")
    low, high = interval(sample["response_latency_ms.p99"], level=0.9)
    row = table.query("point == 2 and topology == 'async'").iloc[0]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
    paired = baseline.differences(["response_latency_ms.p99"])
    assert len(paired) == 4
    with pytest.raises(ValueError, match=r"did you mean 'response_latency_ms.p99'"):
        baseline.aggregate(["response_latency_ms.p999"])


# --- files and resuming -----------------------------------------------------------


def test_resume_after_an_interruption_runs_only_the_rest(baseline, tmp_path):
    with pytest.raises(CutShortError):
        sweep(
            SHORT, VARY, replications=3, workers=1, out=tmp_path, progress=stop_after(5)
        )
    assert len(RunStore(tmp_path).read()) == 5 * 2
    seen = []
    resumed = sweep(
        SHORT,
        VARY,
        replications=3,
        workers=1,
        out=tmp_path,
        resume=True,
        progress=seen.append,
    )
    assert seen[-1].runs_total == 12 - 5
    pd.testing.assert_frame_equal(resumed.runs, baseline.runs)
    pd.testing.assert_frame_equal(RunStore(tmp_path).read(), baseline.runs)


def test_resume_reruns_a_run_cut_off_mid_write(baseline, tmp_path):
    with pytest.raises(CutShortError):
        sweep(
            SHORT, VARY, replications=3, workers=1, out=tmp_path, progress=stop_after(3)
        )
    table = tmp_path / "sweep.csv"
    table.write_text(table.read_text()[:-40])  # the last row, half written
    seen = []
    resumed = sweep(
        SHORT,
        VARY,
        replications=3,
        workers=1,
        out=tmp_path,
        resume=True,
        progress=seen.append,
    )
    assert seen[-1].runs_total == 12 - 2
    pd.testing.assert_frame_equal(resumed.runs, baseline.runs)


def test_resume_refuses_a_different_sweep(tmp_path):
    sweep(SHORT, {"function.batch_size": [1]}, replications=1, workers=1, out=tmp_path)
    with pytest.raises(QsimError, match=r"2 rows come from a different sweep"):
        sweep(
            SHORT,
            {"function.batch_size": [1]},
            replications=1,
            workers=1,
            out=tmp_path,
            resume=True,
            seed=99,
        )


def test_a_failed_run_is_run_again_on_resume(monkeypatch, tmp_path):
    fail_when(monkeypatch, 10)
    first = sweep(
        SHORT, {"function.batch_size": [1, 10]}, replications=1, workers=1, out=tmp_path
    )
    assert not first.ok
    monkeypatch.undo()
    seen = []
    second = sweep(
        SHORT,
        {"function.batch_size": [1, 10]},
        replications=1,
        workers=1,
        out=tmp_path,
        resume=True,
        progress=seen.append,
    )
    assert second.ok and seen[-1].runs_total == 1


def test_parquet_table(baseline, tmp_path):
    pytest.importorskip("pyarrow")
    result = sweep(
        SHORT, VARY, replications=3, workers=1, out=tmp_path, file_format="parquet"
    )
    assert result.path == tmp_path / "sweep.parquet"
    pd.testing.assert_frame_equal(RunStore(tmp_path, "parquet").read(), baseline.runs)


def test_settings_file_records_the_sweep(tmp_path):
    sweep(
        SHORT,
        {"function.batch_size": [1, 2]},
        replications=1,
        workers=1,
        out=tmp_path,
        seed=3,
    )
    settings = yaml.safe_load((tmp_path / "sweep.json").read_text())
    assert settings["root_seed"] == 3 and settings["vary"] == {
        "function.batch_size": [1, 2]
    }
    assert settings["scenario"]["name"] == "short"


def test_flatten_makes_every_metric_a_number():
    flat = sweep_worker.flatten({"a": {"b": True, "c": None}, "d": np.int64(4)})
    assert flat["a.b"] == 1.0 and math.isnan(flat["a.c"]) and flat["d"] == 4
    assert type(flat["d"]) is int


# --- the report -------------------------------------------------------------------


def test_report_is_self_contained_with_captioned_figures(tmp_path):
    scenario = {**SHORT, "name": "<b>spike & co</b>"}
    result = sweep(scenario, VARY, replications=2, workers=1)
    path = result.write_report(tmp_path, ["response_latency_ms.p99"])
    html = path.read_text()
    assert path.name == "sweep.html"
    assert "&lt;b&gt;spike &amp; co&lt;/b&gt;" in html and "<b>spike" not in html
    figures = re.findall(r"<figure.*?</figure>", html, flags=re.DOTALL)
    assert len(figures) == 2  # the metric against each key, then the heatmaps
    for figure in figures:
        assert "<svg" in figure and 'role="img" aria-label="' in figure
        assert "<figcaption>" in figure
    assert "heatmap" in figures[1].lower()
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<style>" in html and "<tbody>" in html
    assert html.count('<tr class="failed"') == 0
    assert len(re.findall(r"<tr>\s*<td>\d+</td>", html)) == 4


def test_report_lists_failed_runs(monkeypatch, tmp_path):
    fail_when(monkeypatch, 10)
    result = sweep(SHORT, {"function.batch_size": [1, 10]}, replications=2, workers=1)
    html = result.write_report(tmp_path, ["response_latency_ms.p99"]).read_text()
    assert 'id="failures"' in html and "RuntimeError: boom" in html


def test_plot_returns_the_axes(baseline):
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    assert baseline.plot("throughput_rps", "function.batch_size", ax=ax) is ax
    assert ax.get_xlabel() == "function.batch_size"
    assert ax.get_ylabel() == "Throughput (work done) (req/s)"
    with pytest.raises(ValueError, match=r"'queue.batch_size' is not a varied key"):
        baseline.plot("throughput_rps", "queue.batch_size")


# --- the command line -------------------------------------------------------------


def test_cli_happy_path(scenario_file, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            str(scenario_file()),
            "--vary",
            "function.batch_size=1,10",
            "--replications",
            "2",
            "--workers",
            "1",
            "--out",
            str(out),
            "--metric",
            "cost_usd.total",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 points x 2 replications" in result.output
    assert {p.name for p in out.iterdir()} == {"sweep.csv", "sweep.json", "sweep.html"}
    assert len(RunStore(out).read()) == 2 * 2 * 2


def test_cli_uses_the_scenario_sweep_block(scenario_file, tmp_path):
    path = scenario_file(
        sweep={
            "vary": {"queue.visibility_timeout": ["1m", "2m", "3m"]},
            "replications": 1,
        }
    )
    result = CliRunner().invoke(
        app,
        ["sweep", str(path), "--workers", "1", "--out", str(tmp_path), "--no-report"],
    )
    assert result.exit_code == 0, result.output
    assert "3 points x 1 replications" in result.output


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("function.batch_size", "--vary: expected dotted.key=value"),
        ("function.batch_sise=1,2", "function.batch_sise: unknown key"),
        ("function.batch_size=1,0", "point 1 (function.batch_size=0)"),
    ],
)
def test_cli_bad_vary_exits_2(scenario_file, tmp_path, option, message):
    result = CliRunner().invoke(
        app, ["sweep", str(scenario_file()), "--vary", option, "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "sweep.csv").exists()


def test_cli_names_failed_points_and_exits_1(monkeypatch, scenario_file, tmp_path):
    fail_when(monkeypatch, 10)
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            str(scenario_file()),
            "--vary",
            "function.batch_size=1,10",
            "--replications",
            "1",
            "--workers",
            "1",
            "--out",
            str(tmp_path),
            "--no-report",
        ],
    )
    assert result.exit_code == 1
    assert (
        "1 of 2 points failed: point 1 (function.batch_size=10): RuntimeError: boom"
        in " ".join(result.output.split())
    )
