"""The grid of a sweep: its points, their runs and the runs' seeds.

A point is one set of overrides; a run is one replication of a point.
Every run's seed comes from the root seed through numpy's SeedSequence,
keyed by (point, replication), so a run gives the same numbers whichever
worker runs it and in whatever order. Each run also carries a digest of
everything that decides its outcome, so a resumed sweep can tell its own
earlier runs from those of a different grid, scenario or seed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from qsim.engine.randomness import derive_seed
from qsim.errors import ScenarioError
from qsim.scenario import Scenario, load_scenario, parse_override

__all__ = [
    "Point",
    "RunSpec",
    "SweepPlan",
    "expand_grid",
    "make_plan",
    "parse_vary",
    "plain_scenario",
]

VARY_HELP = "dotted.key=value,value,... (e.g. function.batch_size=1,10,100)"
MAX_LISTED_PROBLEMS = 10
DEFAULT_REPLICATIONS = 5


@dataclass(frozen=True)
class Point:
    """One combination of the varied keys' values."""

    index: int
    overrides: dict[str, Any] = field(hash=False)
    labels: dict[str, Any] = field(hash=False)  # table-friendly values

    def describe(self) -> str:
        """Return `point 3 (function.batch_size=10, ...)`."""
        pairs = ", ".join(f"{key}={value}" for key, value in self.labels.items())
        return f"point {self.index}" + (f" ({pairs})" if pairs else "")


@dataclass(frozen=True)
class RunSpec:
    """One replication of a point: what a worker is asked to simulate."""

    point: Point
    replication: int
    seed: int
    digest: str  # of the scenario, the point's overrides and the seed


def parse_vary(text: str) -> tuple[str, list[Any]]:
    """Split `key=v1,v2,...` (or `key=[v1, v2]` in YAML) into key and values.

    Each value is parsed like a `--set` value, so `30s`, `100` and
    `{dist: exponential, mean: 5ms}` mean what they mean in a file.
    """
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ScenarioError(f"expected {VARY_HELP}, got {text!r}", "--vary")
    if values.lstrip().startswith("["):
        parsed = parse_override(f"{key}={values}")[1]
        if isinstance(parsed, list) and parsed:
            return key, parsed
        raise ScenarioError(
            f"{key}: expected a non-empty YAML list of values, got {values!r}", "--vary"
        )
    items = [item.strip() for item in values.split(",")]
    if not all(items):
        raise ScenarioError(f"{key}: empty value in {values!r} ({VARY_HELP})", "--vary")
    return key, [parse_override(f"{key}={item}")[1] for item in items]


def expand_grid(vary: Mapping[str, Sequence[Any]], zip: bool = False) -> list[Point]:
    """Return the points: every combination, or the lists paired by `zip`.

    The first key varies slowest. No keys at all give a single point
    with no overrides (replications of the scenario as it is).
    """
    for key, values in vary.items():
        is_list = isinstance(values, Sequence) and not isinstance(values, (str, bytes))
        if not is_list or not values:
            raise ScenarioError(
                f"sweep.vary.{key}: needs a non-empty list of values, got {values!r}",
                "sweep",
            )
    keys = list(vary)
    sizes = [len(vary[key]) for key in keys]
    if zip and len(set(sizes)) > 1:
        counts = ", ".join(f"{key} has {len(vary[key])}" for key in keys)
        raise ScenarioError(
            f"zip pairs the lists value by value, so they need equal lengths: {counts}",
            "sweep",
        )
    if zip:
        combos = [(i,) * len(keys) for i in range(sizes[0] if keys else 1)]
    else:
        combos = list(itertools.product(*(range(size) for size in sizes)))
    labels = {key: _labels(vary[key]) for key in keys}
    return [
        Point(
            index,
            {key: vary[key][combo[k]] for k, key in enumerate(keys)},
            {key: labels[key][combo[k]] for k, key in enumerate(keys)},
        )
        for index, combo in enumerate(combos)
    ]


def _labels(values: Sequence[Any]) -> list[Any]:
    """Values as table cells: numbers stay numbers, the rest become text.

    A key whose values are all numbers gets a numeric column (and a
    numeric axis); any other key gets text for all its values, so a CSV
    read back gives the same column.
    """
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return list(values)
    return [v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in values]


def plain_scenario(scenario: Scenario) -> dict[str, Any]:
    """Return a scenario as a self-contained dict, ready to send to a worker.

    Traces and empirical samples, read from files when the scenario was
    loaded, are put back into the dict, so a worker on another machine
    needs no files. The `sweep` block is left out: a point is one run.
    """
    raw = scenario.model_dump(mode="json", by_alias=True)
    _put_back_excluded(scenario, raw)
    raw.pop("sweep", None)
    return raw


def _put_back_excluded(model: BaseModel, raw: dict[str, Any]) -> None:
    for name, info in type(model).model_fields.items():
        value, key = getattr(model, name), info.alias or name
        if info.exclude:
            raw[key] = list(value) if isinstance(value, tuple) else value
        elif isinstance(value, BaseModel) and isinstance(raw.get(key), dict):
            _put_back_excluded(value, raw[key])
        elif isinstance(value, tuple) and isinstance(raw.get(key), list):
            for item, item_raw in zip(value, raw[key], strict=True):
                if isinstance(item, BaseModel) and isinstance(item_raw, dict):
                    _put_back_excluded(item, item_raw)


@dataclass(frozen=True)
class SweepPlan:
    """Everything decided before the first run: scenario, grid, seeds."""

    scenario: dict[str, Any]  # plain, as sent to the workers
    vary: dict[str, list[Any]]
    zip: bool
    replications: int
    root_seed: int
    points: list[Point]
    runs: list[RunSpec]

    @property
    def keys(self) -> list[str]:
        """The varied keys, in the order given."""
        return list(self.vary)

    def labels(self, key: str) -> list[Any]:
        """Return a key's values as table cells, in the order given."""
        return list(dict.fromkeys(point.labels[key] for point in self.points))

    @property
    def topologies(self) -> tuple[str, ...]:
        """The topologies each run simulates."""
        return tuple(self.scenario["topologies"])


def make_plan(
    scenario: Scenario,
    vary: Mapping[str, Sequence[Any]] | Sequence[str] | None = None,
    *,
    zip: bool | None = None,
    replications: int | None = None,
    seed: int | None = None,
) -> SweepPlan:
    """Resolve the grid, check every point and derive every run's seed.

    Unset arguments come from the scenario's `sweep:` block, then from
    the defaults (no keys, product grid, 5 replications, the scenario's
    seed as root seed). A `vary` given here replaces the block's whole.

    Raises:
        ScenarioError: for a malformed `--vary`, unequal zipped lists or
            any point whose overrides the scenario rejects, before
            anything is simulated.
    """
    block = scenario.sweep
    if vary is None:
        vary = dict(block.vary) if block else {}
        zip = (block.zip if block else False) if zip is None else zip
    elif not isinstance(vary, Mapping):
        vary = _parse_all(vary)
    if replications is None:
        replications = block.replications if block else DEFAULT_REPLICATIONS

    vary = {
        key: list(values) if isinstance(values, (list, tuple)) else values
        for key, values in vary.items()
    }
    _refuse_files(vary)
    points = expand_grid(vary, bool(zip))

    plain = plain_scenario(scenario)
    root_seed = scenario.seed if seed is None else seed
    runs = _plan_runs(plain, points, replications, root_seed)
    return SweepPlan(plain, vary, bool(zip), replications, root_seed, points, runs)


def _refuse_files(vary: Mapping[str, Any]) -> None:
    """Refuse to vary a file name.

    What was read from the file travels inside the scenario dict, so a
    run would keep the first file's data whatever name it was given.
    """
    for key in vary:
        if key == "file" or key.endswith(".file"):
            raise ScenarioError(
                f"{key}: a sweep cannot vary a file; make one scenario per file",
                "--vary",
            )


def _parse_all(texts: Sequence[str]) -> dict[str, list[Any]]:
    vary: dict[str, list[Any]] = {}
    for text in texts:
        key, values = parse_vary(text)
        if key in vary:
            raise ScenarioError(
                f"{key}: varied twice; give all its values in one --vary", "--vary"
            )
        vary[key] = values
    return vary


def _plan_runs(
    scenario: dict[str, Any], points: list[Point], replications: int, root_seed: int
) -> list[RunSpec]:
    if replications < 1:
        raise ScenarioError(
            f"replications must be at least 1, got {replications}", "sweep"
        )
    _check_points(scenario, points)
    base = _digest(scenario)
    return [
        RunSpec(point, replication, seed, _digest([base, point.overrides, seed]))
        for point in points
        for replication in range(replications)
        for seed in (derive_seed(root_seed, point.index, replication),)
    ]


def _check_points(scenario: dict[str, Any], points: list[Point]) -> None:
    problems: dict[str, str] = {}
    for point in points:
        try:
            load_scenario(scenario, point.overrides)
        except ScenarioError as error:
            for problem in error.problems:
                problems.setdefault(problem, point.describe())
    if problems:
        lines = [f"{where}: {problem}" for problem, where in problems.items()]
        if len(lines) > MAX_LISTED_PROBLEMS:
            more = len(lines) - MAX_LISTED_PROBLEMS
            lines = lines[:MAX_LISTED_PROBLEMS] + [f"... and {more} more"]
        raise ScenarioError(lines, scenario.get("name", "sweep"))


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
