"""Progress reporting: the library callback and the CLI's quiet mode."""

from typer.testing import CliRunner

import qsim
from qsim.cli import app

SMALL = {"name": "small", "duration": "30s", "workload": {"rate": 5}}


def test_progress_reports_simulated_time_per_topology():
    seen: dict[str, list[float]] = {}
    qsim.run(SMALL, progress=lambda name, at_s: seen.setdefault(name, []).append(at_s))
    assert set(seen) == {"sync", "async"}
    for times in seen.values():
        assert times == sorted(times)
        assert times[-1] == 30.0
        assert len(times) == 30  # one call per one-second block


def test_run_prints_no_progress_bar_when_not_a_terminal(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text("name: small\nduration: 30s\nworkload: {rate: 5}\n")
    result = CliRunner().invoke(
        app, ["run", str(path), "--out", str(tmp_path / "out"), "--no-report"]
    )
    assert result.exit_code == 0, result.output
    assert "seed 0, 30 s simulated" in result.output  # the summary table's title
    assert "/30 s simulated" not in result.output  # the bar's "done/total" column
