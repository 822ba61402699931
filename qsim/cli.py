"""The `qsim` command: run, validate, report and sweep scenarios.

Each command parses its arguments, calls one library function and prints
a short result. Exit status: 0 success, 1 a failed run, 2 a user's input
error (one clear message, no traceback). Heavy libraries are imported
inside the commands so `qsim --help` answers at once.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate an SQS + Lambda design beside a synchronous service chain.",
)

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override a scenario key: dotted.key=value (repeatable)."
    ),
]
ScenarioArg = Annotated[
    str, typer.Argument(help="A scenario YAML file, or a bundled scenario's name.")
]


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _fail(message: str, code: int = 2) -> None:
    _console(stderr=True).print(f"[red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def _load(scenario: str, overrides: list[str] | None):
    from qsim.errors import ScenarioError
    from qsim.scenario import load_scenario

    try:
        return load_scenario(scenario, overrides or None)
    except ScenarioError as error:
        _fail(str(error))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "scenario"


@app.command()
def run(
    scenario: ScenarioArg,
    seed: Annotated[
        int | None, typer.Option(help="Seed (default: the scenario's).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: reports/<name>/).")
    ] = None,
    overrides: SetOption = None,
    report: Annotated[bool, typer.Option(help="Write report.html too.")] = True,
    messages: Annotated[
        bool,
        typer.Option("--messages", help="Also write messages.csv, a row per message."),
    ] = False,
) -> None:
    """Simulate a scenario, print the comparison and save the results."""
    spec = _load(scenario, overrides)
    from qsim.console import print_summary, progress_bar
    from qsim.errors import QsimError
    from qsim.simulation import run as simulate

    console = _console()
    folder = out or Path("reports") / _slug(spec.name)
    try:
        if console.is_terminal:
            with progress_bar(console) as bar:
                tasks = {
                    name: bar.add_task(name, total=spec.duration)
                    for name in spec.topologies
                }
                result = simulate(
                    spec,
                    seed,
                    keep_messages=messages or None,
                    progress=lambda n, t: bar.update(tasks[n], completed=t),
                )
        else:
            result = simulate(spec, seed, keep_messages=messages or None)
        result.save(folder)
        if report:
            from qsim.report import write_report

            write_report(result, folder)
    except QsimError as error:
        _fail(str(error), code=1)
    print_summary(result, console, str(folder))


@app.command()
def validate(scenario: ScenarioArg, overrides: SetOption = None) -> None:
    """Check a scenario: every error at once, then AWS's advice as warnings."""
    spec = _load(scenario, overrides)
    from qsim.scenario import scenario_warnings

    console = _console()
    warnings = scenario_warnings(spec)
    for line in warnings:
        console.print(f"[yellow]warning:[/] {line}", soft_wrap=True)
    console.print(
        f"{scenario}: valid" + (f", {len(warnings)} warning(s)" if warnings else "")
    )


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="A folder written by `qsim run`.")],
) -> None:
    """Render report.html again from saved results, without simulating."""
    from qsim.report import write_report
    from qsim.results import SUMMARY_FILE, Result

    if not (folder / SUMMARY_FILE).is_file():
        _fail(f"{folder}: no {SUMMARY_FILE} here; run `qsim run` first")
    path = write_report(Result.load(folder), folder)
    _console().print(f"wrote {path}")


@app.command()
def sweep(
    scenario: ScenarioArg,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="A key and its values: dotted.key=v1,v2,... (repeatable; "
            "default: the scenario's sweep block).",
        ),
    ] = None,
    replications: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Runs per point, each with its own seed (default: the sweep "
            "block's, else 5).",
        ),
    ] = None,
    zip_: Annotated[
        bool,
        typer.Option(
            "--zip", help="Pair the --vary lists value by value, not every combination."
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Local processes (default: every core; 1 runs in this process)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Run on a Dask cluster instead, e.g. tcp://host:8786."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: reports/<name>-sweep/)."),
    ] = None,
    file_format: Annotated[
        str, typer.Option("--format", help="Table format: csv or parquet.")
    ] = "csv",
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Keep the runs already in the output folder; run the rest."
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(help="Root seed of every run's seed (default: the scenario's)."),
    ] = None,
    overrides: SetOption = None,
    metrics: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            help="A metric to chart in sweep.html, e.g. "
            "response_latency_ms.p99 (repeatable).",
        ),
    ] = None,
    report: Annotated[bool, typer.Option(help="Write sweep.html too.")] = True,
) -> None:
    """Run a scenario over a grid of settings, replicated, with 95% intervals."""
    spec = _load(scenario, overrides)
    from qsim.errors import QsimError
    from qsim.sweeps import sweep as run_sweep
    from qsim.sweeps.terminal import print_sweep, sweep_progress

    console = _console()
    folder = out or Path("reports") / f"{_slug(spec.name)}-sweep"
    try:
        with sweep_progress(console) as progress:
            result = run_sweep(
                spec,
                vary,
                replications=replications,
                zip=zip_ or None,
                seed=seed,
                workers=workers,
                executor=scheduler,
                out=folder,
                file_format=file_format,
                resume=resume,
                progress=progress,
            )
        if report:
            result.write_report(folder, metrics)
    except (QsimError, ValueError) as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail(f"interrupted; finished runs are in {folder}: add --resume to go on", 130)
    print_sweep(result, console)
    console.print(f"results written to {folder}")
    if not result.ok:
        failed = result.failed_points
        names = "; ".join(
            f"{p.describe()}: {_first_error(result, p.index)}" for p in failed
        )
        _fail(f"{len(failed)} of {len(result.plan.points)} points failed: {names}", 1)


def _first_error(result, point: int) -> str:
    errors = result.failures
    return errors.loc[errors["point"] == point, "error"].iloc[0]


def main() -> None:  # pragma: no cover - console entry point
    """Run the command line (for `python -m qsim`)."""
    app(prog_name="qsim")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
