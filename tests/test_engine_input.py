"""Bad input: one short message naming the file, the key and what is allowed.

Each mistake is checked twice: through `load_scenario` (a ScenarioError
whose message starts with the file's name) and through the command line
(`qsim validate` and `qsim run`: exit status 2, the same message, no
traceback). `qsim validate` also warns about settings AWS advises
against or rejects.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qsim
from qsim.cli import app
from qsim.errors import ScenarioError
from qsim.scenario.loading import parse_override

HEAD = """\
name: bad
duration: 1m
topologies: [async]
workload: {arrivals: constant, rate: 5}
"""

# name -> (YAML after HEAD, patterns the message must contain)
BAD_FILES = {
    "misspelt_key": (
        "queue:\n  visiblity_timeout: 30s\n",
        ["queue.visiblity_timeout", "unknown key", "did you mean 'visibility_timeout'"],
    ),
    "misspelt_section": (
        "queu:\n  visibility_timeout: 30s\n",
        ["queu", "did you mean 'queue'", "allowed: "],
    ),
    "unknown_key": (
        "function:\n  colour: blue\n",
        ["function.colour", "unknown key", "allowed: ", "batch_size"],
    ),
    "wrong_type": (
        "function:\n  batch_size: lots\n",
        ["function.batch_size", "integer", "'lots'"],
    ),
    "wrong_bool": (
        "function:\n  report_batch_item_failures: maybe\n",
        ["function.report_batch_item_failures", "boolean", "'maybe'"],
    ),
    "missing_unit": (
        "queue:\n  visibility_timeout: 30\n",
        ["queue.visibility_timeout", "needs a unit", "30s"],
    ),
    "unknown_unit": (
        "queue:\n  delay: 30 parsecs\n",
        ["queue.delay", "250ms, 30s", "'30 parsecs'"],
    ),
    "size_without_unit": (
        "function:\n  memory: 512\n",
        ["function.memory", "needs a unit", "KB"],
    ),
    "batch_size_out_of_range": (
        "function:\n  batch_size: 20000\n",
        ["function.batch_size", "10000", "20000"],
    ),
    "visibility_out_of_range": (
        "queue:\n  visibility_timeout: 13h\n",
        ["queue.visibility_timeout", "must be at"],
    ),
    "retention_below_minimum": (
        "queue:\n  retention_period: 30s\n",
        ["queue.retention_period", "1m"],
    ),
    "unknown_distribution": (
        "backend:\n  service_time: {dist: weibull, mean: 1s}\n",
        ["backend.service_time", "'weibull'", "exponential", "lognormal"],
    ),
    "bad_preset": (
        "function:\n  scaling: fast\n",
        ["function.scaling.preset", "'classic'", "'faster'", "'fast'"],
    ),
    "section_not_a_mapping": (
        "queue: 3\n",
        ["queue", "got 3"],
    ),
}


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def _assert_short_and_clear(message: str, filename: str, patterns: list[str]) -> None:
    for line in message.strip().splitlines():
        assert line.startswith((filename, "error: " + filename)), line
    for pattern in patterns:
        assert pattern in message
    assert "Traceback" not in message
    assert len(message.strip().splitlines()) <= 3


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


# --- through load_scenario ----------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_load_scenario_names_file_key_and_rule(tmp_path, case):
    body, patterns = BAD_FILES[case]
    path = _write(tmp_path, case, HEAD + body)
    with pytest.raises(ScenarioError) as caught:
        qsim.load_scenario(path)
    assert isinstance(caught.value, ValueError)
    _assert_short_and_clear(str(caught.value), path.name, patterns)


def test_every_problem_is_reported_at_once(tmp_path):
    body = "queue:\n  visibility_timeout: 30\n  delay: 2 fortnights\n"
    body += "function:\n  batch_size: 20000\n"
    path = _write(tmp_path, "three", HEAD + body)
    with pytest.raises(ScenarioError) as caught:
        qsim.load_scenario(path)
    problems = caught.value.problems
    assert len(problems) == 3
    assert [p.split(":")[0] for p in problems] == [
        "queue.visibility_timeout",
        "queue.delay",
        "function.batch_size",
    ]
    assert str(caught.value).count("three.yaml: ") == 3


def test_missing_required_section(tmp_path):
    path = _write(tmp_path, "no_workload", "name: bad\nduration: 1m\n")
    with pytest.raises(ScenarioError, match=r"no_workload\.yaml: workload: missing"):
        qsim.load_scenario(path)


def test_dict_input_is_labelled(tmp_path):
    raw = {"name": "d", "duration": "1m", "workload": {"rate": 5, "burst": 1}}
    with pytest.raises(ScenarioError, match=r"^<dict>: workload\.burst: unknown key"):
        qsim.load_scenario(raw)


def test_malformed_yaml_gives_the_line(tmp_path):
    text = "name: bad\nduration: 1m\nworkload:\n  rate: [5\nqueue: {\n"
    path = _write(tmp_path, "malformed", text)
    with pytest.raises(ScenarioError, match=r"malformed\.yaml: line \d+, column \d+"):
        qsim.load_scenario(path)


def test_tab_indentation_gives_the_line(tmp_path):
    path = _write(tmp_path, "tabs", HEAD + "queue:\n\tdelay: 1s\n")
    with pytest.raises(ScenarioError, match=r"tabs\.yaml: line 6, column 1: malformed"):
        qsim.load_scenario(path)


def test_missing_file_lists_the_bundled_scenarios(tmp_path):
    missing = tmp_path / "nothere.yaml"
    with pytest.raises(ScenarioError, match=r"nothere\.yaml: no such file \(bundled"):
        qsim.load_scenario(missing)


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("", "NoneType")])
def test_top_level_must_be_a_mapping(tmp_path, text, kind):
    path = _write(tmp_path, "listy", text)
    with pytest.raises(
        ScenarioError, match=rf"listy\.yaml: .*must be a mapping.*{kind}"
    ):
        qsim.load_scenario(path)


@pytest.mark.parametrize("text", ["queue.visibility_timeout", "=3", ""])
def test_bad_set_syntax(text):
    with pytest.raises(ScenarioError, match=r"--set: --set takes dotted\.key=value"):
        parse_override(text)


def test_overrides_are_validated_like_the_file(tmp_path):
    path = _write(tmp_path, "good", HEAD)
    with pytest.raises(
        ScenarioError, match=r"good\.yaml: function\.batch_size: .*20000"
    ):
        qsim.load_scenario(path, ["function.batch_size=20000"])
    with pytest.raises(
        ScenarioError, match=r"queue\.visibility_timeout: .*needs a unit"
    ):
        qsim.load_scenario(path, {"queue.visibility_timeout": 30})
    scenario = qsim.load_scenario(path, ["queue.visibility_timeout=2m"])
    assert scenario.queue.visibility_timeout == 120.0


def test_problems_from_overrides_say_so(tmp_path):
    """A bad `--set` value is not looked for in the file: the message says so."""
    path = _write(tmp_path, "good", HEAD)
    with pytest.raises(ScenarioError) as caught:
        qsim.load_scenario(
            path,
            [
                "function.batch_size=0",
                "workload.stages=[{duration: 1m, rate: -3}]",
            ],
        )
    problems = caught.value.problems
    assert any(
        p.startswith("function.batch_size:") and p.endswith("(from the override)")
        for p in problems
    ), problems
    assert any(
        p.startswith("workload.stages.0.rate:")
        and p.endswith("(from the override of workload.stages)")
        for p in problems
    ), problems
    with pytest.raises(ScenarioError) as caught:
        qsim.load_scenario(
            {"name": "bad", "duration": "-1s", "workload": {"rate": 5}},
            ["function.batch_size=5"],
        )
    assert not any("override" in p for p in caught.value.problems)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("function:\n  memory: 64MB\n", "128MB", id="memory"),
        pytest.param("queue:\n  visibility_timeout: 13h\n", "12h", id="visibility"),
    ],
)
def test_range_errors_speak_the_files_units(tmp_path, body, expected):
    path = _write(tmp_path, "units", HEAD + body)
    with pytest.raises(ScenarioError, match=expected):
        qsim.load_scenario(path)


# --- through the command line ------------------------------------------------


def _assert_user_error(result, filename: str, patterns: list[str]) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # not an uncaught error
    assert result.stdout == ""
    _assert_short_and_clear(result.stderr, filename, patterns)


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_cli_rejects_bad_files_with_status_2(tmp_path, runner, command, case):
    body, patterns = BAD_FILES[case]
    path = _write(tmp_path, case, HEAD + body)
    result = runner.invoke(app, [command, str(path)])
    _assert_user_error(result, path.name, patterns)


@pytest.mark.parametrize(
    ("name", "text", "patterns"),
    [
        ("malformed", "name: x\nworkload: [\n", ["line 3", "malformed YAML"]),
        ("listy", "- 1\n", ["must be a mapping"]),
    ],
)
def test_cli_rejects_unreadable_files(tmp_path, runner, name, text, patterns):
    path = _write(tmp_path, name, text)
    for command in ("validate", "run"):
        _assert_user_error(
            runner.invoke(app, [command, str(path)]), path.name, patterns
        )


def test_cli_rejects_a_missing_file(tmp_path, runner):
    missing = str(tmp_path / "nothere.yaml")
    for command in ("validate", "run"):
        result = runner.invoke(app, [command, missing])
        _assert_user_error(result, missing, ["no such file", "spike"])


@pytest.mark.parametrize(
    ("setting", "patterns"),
    [
        ("queue.visibility_timeout", ["--set takes dotted.key=value"]),
        ("queue.visibility_timeout=30", ["queue.visibility_timeout", "needs a unit"]),
        ("queue.nope=3", ["queue.nope", "unknown key"]),
        ("function.scaling=fast", ["'fast'", "'classic'"]),
    ],
)
def test_cli_rejects_bad_set_options(tmp_path, runner, setting, patterns):
    path = _write(tmp_path, "good", HEAD)
    for command in ("validate", "run"):
        result = runner.invoke(app, [command, str(path), "--set", setting])
        assert result.exit_code == 2, result.output
        assert isinstance(result.exception, SystemExit)
        for pattern in patterns:
            assert pattern in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2


def test_cli_rejects_a_set_into_a_scalar(tmp_path, runner):
    path = _write(tmp_path, "good", HEAD)
    result = runner.invoke(app, ["validate", str(path), "--set", "name.x=1"])
    _assert_user_error(result, path.name, ["name"])


def test_cli_run_accepts_set_and_writes_results(tmp_path, runner):
    path = _write(tmp_path, "good", HEAD)
    out = tmp_path / "out"
    args = ["run", str(path), "--out", str(out), "--no-report", "--seed", "3"]
    result = runner.invoke(app, [*args, "--set", "function.batch_size=5"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3
    assert summary["scenario"]["function"]["batch_size"] == 5
    assert summary["topologies"]["async"]["conservation"]["balanced"]
    assert (out / "timeseries.csv").is_file()


# --- qsim validate warnings -----------------------------------------------------

WARNINGS = {
    "visibility_below_timeout": (
        {"queue": {"visibility_timeout": "5s"}, "function": {"timeout": "10s"}},
        "shorter than function.timeout",
    ),
    "visibility_below_six_timeouts": (
        {"queue": {"visibility_timeout": "30s"}, "function": {"timeout": "10s"}},
        "under 6x function.timeout",
    ),
    "max_receive_count_below_5": (
        {"queue": {"max_receive_count": 2}},
        "max_receive_count is 2",
    ),
    "batch_over_10_without_window": (
        {"function": {"batch_size": 50}},
        "batch_size is 50 with no function.batching_window",
    ),
}

CLEAN = {"queue": {"visibility_timeout": "1m", "max_receive_count": 5}}


def _yaml_with(sections: dict) -> str:
    merged = {key: {**CLEAN.get(key, {}), **value} for key, value in sections.items()}
    merged = {**CLEAN, **merged}
    return HEAD + textwrap.dedent(
        "".join(
            f"{section}:\n" + "".join(f"  {k}: {v}\n" for k, v in values.items())
            for section, values in merged.items()
        )
    )


def test_validate_a_sound_scenario_warns_nothing(tmp_path, runner):
    path = _write(tmp_path, "clean", _yaml_with({}))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    assert result.stdout.rstrip().endswith("valid")


@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_validate_warns_about_settings_aws_advises_against(tmp_path, runner, case):
    sections, pattern = WARNINGS[case]
    path = _write(tmp_path, case, _yaml_with(sections))
    result = runner.invoke(app, ["validate", str(path)])

    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "warning:" in line]
    assert len(warnings) == 1
    assert pattern in warnings[0]
    assert "1 warning(s)" in result.output
    # The same lines come with the run's results.
    assert any(pattern in line for line in qsim.run(path).warnings)
