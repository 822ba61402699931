"""Load scenarios from YAML files, dicts or bundled names, with overrides.

Every user mistake becomes one `ScenarioError` listing all problems at
once, each as `file: dotted.key: what is wrong (allowed ...)`.
"""

from __future__ import annotations

import copy
import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from qsim.errors import ScenarioError
from qsim.scenario.models import Scenario
from qsim.scenario.units import format_duration, format_size

__all__ = [
    "BUNDLED_DIR",
    "apply_overrides",
    "bundled_scenarios",
    "load_scenario",
    "parse_override",
]

BUNDLED_DIR = Path(__file__).resolve().parents[2] / "scenarios"
"""Where the bundled scenarios live (the repository's `scenarios/`)."""


def bundled_scenarios() -> list[str]:
    """Return the names of the bundled scenarios."""
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.yaml"))


def load_scenario(
    source: str | Path | Mapping[str, Any] | Scenario,
    overrides: Mapping[str, Any] | list[str] | None = None,
    *,
    read_files: bool = True,
) -> Scenario:
    """Load and validate a scenario, applying dotted-key overrides.

    Args:
        source: a YAML file path, a bundled scenario's name (`"spike"`),
            a dict in the file's format, or a Scenario to change.
        overrides: `{"queue.visibility_timeout": "2m"}` or `--set`
            strings such as `"function.batch_size=100"`; values are
            parsed and validated exactly as in a file.
        read_files: False skips reading traces and empirical samples
            (for describing a saved result, which cannot be run).

    Raises:
        ScenarioError: naming the file, the key and what is allowed.
    """
    if isinstance(source, Scenario):
        raw, label, base = (
            source.model_dump(mode="json", by_alias=True),
            "<scenario>",
            ".",
        )
        raw = _restore_loaded(raw, source)
    elif isinstance(source, Mapping):
        raw, label, base = copy.deepcopy(dict(source)), "<dict>", "."
    else:
        path = _find_file(source)
        raw, label, base = _read_yaml(path), path.name, str(path.parent)
    pairs: dict[str, Any] = {}
    if overrides:
        pairs = (
            dict(map(parse_override, overrides))
            if isinstance(overrides, list)
            else dict(overrides)
        )
        raw = apply_overrides(raw, pairs, label)
    try:
        return _validate(raw, label, base, read_files)
    except ScenarioError as error:
        if not pairs:
            raise
        raise _blame_overrides(error, pairs) from None


def _find_file(source: str | Path) -> Path:
    path = Path(source)
    if path.is_file():
        return path
    named = BUNDLED_DIR / f"{source}.yaml"
    if not path.suffix and named.is_file():
        return named
    names = ", ".join(bundled_scenarios()) or "none"
    raise ScenarioError(
        f"no such file (bundled scenarios: {names})", source=str(source)
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ScenarioError(f"{where}malformed YAML: {problem}", path.name) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"cannot read the file: {error}", path.name) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            "a scenario file must be a mapping of keys (name, duration, "
            f"workload, ...), got {type(data).__name__}",
            path.name,
        )
    return data


def _restore_loaded(raw: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """Put back data read from files, which dumping leaves out."""
    trace = scenario.workload.trace
    if trace is not None:
        raw["workload"]["trace"]["values"] = list(trace.values)
    for path, dist in _empirical_fields(scenario):
        node = raw
        for key in path[:-1]:
            node = node[key]
        node[path[-1]]["samples"] = list(dist.samples)
    return raw


def _empirical_fields(model: BaseModel, path: tuple = ()) -> list[tuple[tuple, Any]]:
    found = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if getattr(value, "dist", None) == "empirical":
            found.append(((*path, name), value))
        elif isinstance(value, BaseModel):
            found += _empirical_fields(value, (*path, name))
    return found


def parse_override(text: str) -> tuple[str, Any]:
    """Split `key.path=value`, parsing the value as YAML (`100`, `2m`, `[a]`)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(
            "--set takes dotted.key=value (e.g. queue.visibility_timeout=2m), "
            f"got {text!r}",
            "--set",
        )
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def apply_overrides(
    raw: dict[str, Any], overrides: Mapping[str, Any], label: str
) -> dict[str, Any]:
    """Return a copy of `raw` with each dotted key set to its value."""
    raw = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        keys = dotted.split(".")
        node: Any = raw
        for depth, key in enumerate(keys[:-1]):
            node = _descend(node, key, ".".join(keys[: depth + 1]), label)
        last = keys[-1]
        if isinstance(node, list):
            node[_index(node, last, dotted, label)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ScenarioError(f"{dotted}: cannot set a key inside {node!r}", label)
    return raw


def _blame_overrides(error: ScenarioError, pairs: Mapping[str, Any]) -> ScenarioError:
    """Mark the problems that come from an override (`--set`), not the file."""
    marked = []
    for problem in error.problems:
        where = problem.partition(": ")[0]
        if where in pairs:
            problem += " (from the override)"
        else:
            key = next((k for k in pairs if where.startswith(k + ".")), None)
            problem += f" (from the override of {key})" if key else ""
        marked.append(problem)
    return ScenarioError(marked, error.source)


def _descend(node: Any, key: str, where: str, label: str) -> Any:
    if isinstance(node, list):
        return node[_index(node, key, where, label)]
    if not isinstance(node, dict):
        raise ScenarioError(f"{where}: cannot set a key inside {node!r}", label)
    child = node.get(key)
    if child is None:
        child = node[key] = {}
    elif isinstance(child, str) and key == "scaling":
        child = node[key] = {"preset": child}
    elif not isinstance(child, (dict, list)):
        raise ScenarioError(
            f"{where}: is a value ({child!r}), not a section: set {where}=... instead",
            label,
        )
    return child


def _index(node: list, key: str, where: str, label: str) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise ScenarioError(
            f"{where}: expected a list index below {len(node)}, got {key!r}", label
        )
    return int(key)


def _validate(
    raw: dict[str, Any], label: str, base_dir: str, read_files: bool
) -> Scenario:
    context = {"base_dir": base_dir, "read_files": read_files}
    try:
        return Scenario.model_validate(raw, context=context)
    except ValidationError as error:
        problems = [_describe(item, raw) for item in error.errors()]
        raise ScenarioError(list(dict.fromkeys(problems)), label) from None


# --- error messages ---------------------------------------------------------

_DIST_TAGS = {"constant", "exponential", "uniform", "lognormal", "gamma", "empirical"}


def _describe(item: Mapping[str, Any], raw: Any = None) -> str:
    """Turn one pydantic error into `dotted.key: rule, got value`."""
    loc = [part for part in item["loc"] if not _is_wrapper(part)]
    if item["type"] in _BOUNDS:
        word, key = _BOUNDS[item["type"]]
        limit = item.get("ctx", {}).get(key)
        unit_format = _unit_format(item["loc"])
        given = _raw_at(raw, loc) if unit_format else None
        shown = unit_format(limit) if unit_format else limit
        got = given if given is not None else item.get("input")
        return f"{'.'.join(map(str, loc))}: must be {word} {shown}, got {got!r}"
    where = ".".join(str(part) for part in loc) or "(top level)"
    kind, got = item["type"], item.get("input")
    message = (
        str(item["msg"])
        .removeprefix("Value error, ")
        .removeprefix("Assertion failed, ")
    )
    if kind == "extra_forbidden":
        return f"{where}: unknown key{_suggest(item['loc'])}"
    if kind == "missing":
        return f"{where}: missing (required)"
    if kind == "literal_error":
        allowed = item.get("ctx", {}).get("expected", "")
        return f"{where}: must be one of {allowed}, got {got!r}"
    if kind == "union_tag_invalid":
        return (
            f"{where}: unknown dist {item.get('ctx', {}).get('tag')!r}; allowed: "
            + ", ".join(sorted(_DIST_TAGS))
        )
    if kind == "union_tag_not_found":
        return (
            f"{where}: a distribution needs a dist key "
            "(e.g. {dist: exponential, mean: 200ms})"
        )
    if kind.startswith(
        (
            "greater",
            "less",
            "int_",
            "float_",
            "bool_",
            "string_",
            "dict_",
            "model_",
            "tuple_",
            "list_",
        )
    ):
        message = message.replace("Input should", "must").replace(
            "input should", "must"
        )
        return f"{where}: {message[0].lower()}{message[1:]}, got {_short(got)}"
    return f"{where}: {message}"


_BOUNDS = {
    "greater_than": ("greater than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}


def _unit_format(loc: tuple):
    """Return format_duration or format_size if `loc` is such a field."""
    model = _model_at(Scenario, loc[:-1])
    field = model.model_fields.get(loc[-1]) if model else None
    if field is None:
        field = next(
            (
                f
                for f in (model.model_fields.values() if model else ())
                if f.alias == loc[-1]
            ),
            None,
        )
    for item in getattr(field, "metadata", ()):
        formatter = getattr(getattr(item, "func", None), "__name__", "")
        if formatter in ("parse_duration", "parse_size"):
            return format_duration if formatter == "parse_duration" else format_size
    return None


def _raw_at(raw: Any, loc: list) -> Any:
    for part in loc:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def _is_wrapper(part: Any) -> bool:
    return isinstance(part, str) and (part in _DIST_TAGS or "[" in part)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(loc: tuple) -> str:
    """Name the allowed keys where `loc[-1]` was not one of them."""
    model = _model_at(Scenario, loc[:-1])
    if model is None:
        return ""
    allowed = [
        field.alias or name
        for name, field in model.model_fields.items()
        if not field.exclude
    ]
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (allowed: {', '.join(allowed)})"


def _model_at(model: Any, loc: tuple) -> type[BaseModel] | None:
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and "[" in part):
            continue
        candidates = _models_in(model)
        tagged = [m for m in candidates if _tag(m) == part]
        if tagged:
            model = tagged[0]
            continue
        fields = [
            m for m in candidates if part in m.model_fields or _has_alias(m, part)
        ]
        if not fields:
            return None
        field = fields[0].model_fields.get(part) or next(
            f for f in fields[0].model_fields.values() if f.alias == part
        )
        model = field.annotation
    found = _models_in(model)
    return found[0] if len(found) == 1 else None


def _has_alias(model: type[BaseModel], alias: str) -> bool:
    return any(field.alias == alias for field in model.model_fields.values())


def _tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("dist")
    args = typing.get_args(field.annotation) if field else ()
    return args[0] if args else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, tuple, list):
        for arg in typing.get_args(annotation):
            found += _models_in(arg)
    return found
