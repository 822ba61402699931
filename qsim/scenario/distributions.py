"""Distributions a scenario can draw durations and sizes from.

Written as `{dist: exponential, mean: 200ms}`; a bare quantity such as
`50ms` is shorthand for `{dist: constant, value: 50ms}`. The same family
exists for durations (seconds) and sizes (bytes). Empirical samples are
read from a CSV when the scenario is loaded, so a run never touches files.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from qsim.scenario.units import Duration, Size

__all__ = ["DurationDistribution", "SizeDistribution", "Z_99"]

Z_99 = 2.3263478740408408
"""The standard normal quantile at 0.99, used to fit a lognormal to a p99."""


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    def mean(self) -> float:
        """Return the distribution's mean, in base units."""
        raise NotImplementedError


def _shorthand(value: Any) -> Any:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"dist": "constant", "value": value}
    return value


def _read_samples(path: str, info: ValidationInfo) -> list[float]:
    base = Path((info.context or {}).get("base_dir", "."))
    file = (base / path).resolve()
    if not file.is_file():
        raise ValueError(f"cannot read samples: no file {str(file)!r}")
    values: list[float] = []
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip().split(",")[0].strip()
        if not text:
            continue
        try:
            values.append(float(text))
        except ValueError:
            if values or number > 1:  # a header line is allowed only first
                raise ValueError(
                    f"{file.name} line {number}: expected a number, got {text!r}"
                ) from None
    if not values or min(values) < 0:
        raise ValueError(f"{file.name}: needs at least one sample, all >= 0")
    return values


def _family(quantity: Any, unit: str, scale: dict[str, float]) -> Any:
    """Build the tagged union of distribution models over one quantity."""

    class Constant(_Dist):
        dist: Literal["constant"]
        value: quantity = Field(ge=0)

        def mean(self) -> float:
            return self.value

    class Exponential(_Dist):
        dist: Literal["exponential"]
        mean_: quantity = Field(alias="mean", gt=0)

        def mean(self) -> float:
            return self.mean_

    class Uniform(_Dist):
        dist: Literal["uniform"]
        low: quantity = Field(ge=0)
        high: quantity = Field(ge=0)

        @model_validator(mode="after")
        def _ordered(self) -> Uniform:
            if self.high < self.low:
                raise ValueError("uniform: high must be at least low")
            return self

        def mean(self) -> float:
            return (self.low + self.high) / 2

    class Lognormal(_Dist):
        """A lognormal fitted to its median and 99th percentile."""

        dist: Literal["lognormal"]
        median: quantity = Field(gt=0)
        p99: quantity = Field(gt=0)

        @model_validator(mode="after")
        def _ordered(self) -> Lognormal:
            if self.p99 < self.median:
                raise ValueError("lognormal: p99 must be at least the median")
            return self

        @property
        def sigma(self) -> float:
            return math.log(self.p99 / self.median) / Z_99

        def mean(self) -> float:
            return self.median * math.exp(self.sigma**2 / 2)

    class Gamma(_Dist):
        """A gamma with the given mean and coefficient of variation."""

        dist: Literal["gamma"]
        mean_: quantity = Field(alias="mean", gt=0)
        cv: float = Field(gt=0, le=10)

        def mean(self) -> float:
            return self.mean_

    class Empirical(_Dist):
        """Samples read from a CSV (first column), in `unit`."""

        dist: Literal["empirical"]
        file: str
        unit: Literal[tuple(scale)] = next(iter(scale))  # type: ignore[valid-type]
        samples: tuple[float, ...] = Field(default=(), exclude=True)

        @model_validator(mode="before")
        @classmethod
        def _load(cls, data: Any, info: ValidationInfo) -> Any:
            if (info.context or {}).get("read_files") is False:
                return {**data, "samples": data.get("samples") or (0.0,)}
            if isinstance(data, dict) and "file" in data and not data.get("samples"):
                raw = _read_samples(str(data["file"]), info)
                factor = scale.get(str(data.get("unit", next(iter(scale)))), 1.0)
                data = {**data, "samples": tuple(v * factor for v in raw)}
            return data

        @field_validator("samples")
        @classmethod
        def _some(cls, samples: tuple[float, ...]) -> tuple[float, ...]:
            if not samples:
                raise ValueError("empirical: no samples were read")
            return samples

        def mean(self) -> float:
            return math.fsum(self.samples) / len(self.samples)

    for cls in (Constant, Exponential, Uniform, Lognormal, Gamma, Empirical):
        cls.__name__ = cls.__qualname__ = f"{unit.title()}{cls.__name__}"
        cls.model_config = {
            **cls.model_config,
            "populate_by_name": True,
            "title": cls.__name__,
        }
    union = Constant | Exponential | Uniform | Lognormal | Gamma | Empirical
    return Annotated[union, Field(discriminator="dist"), BeforeValidator(_shorthand)]


DurationDistribution = _family(Duration, "duration", {"ms": 1e-3, "s": 1.0, "us": 1e-6})
"""A distribution of durations in seconds."""

SizeDistribution = _family(Size, "size", {"B": 1.0, "KB": 1024.0, "MB": 1024.0**2})
"""A distribution of sizes in bytes."""
