"""Draw numbers from the scenario's distribution specifications.

`Sampler.draw(n)` is vectorised; `Sampler.one()` serves scalars from a
pre-drawn buffer so the simulation loop pays one numpy call per few
thousand draws rather than one per draw.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Sampler"]

_BUFFER = 4096


class Sampler:
    """Draw from one distribution spec with its own generator.

    Args:
        spec: a distribution model from `qsim.scenario.distributions`.
        rng: the generator this sampler owns.
        upper: draws are clipped to this value (e.g. 1 MiB for sizes).
    """

    def __init__(self, spec, rng: np.random.Generator, upper: float = math.inf) -> None:
        self.spec = spec
        self.rng = rng
        self.upper = upper
        self.mean = spec.mean()
        self._buffer = np.empty(0)
        self._next = 0
        self.is_constant = spec.dist == "constant"

    def draw(self, n: int) -> np.ndarray:
        """Return `n` independent draws as a float64 array."""
        spec, rng = self.spec, self.rng
        kind = spec.dist
        if kind == "constant":
            values = np.full(n, spec.value)
        elif kind == "exponential":
            values = rng.exponential(spec.mean_, n)
        elif kind == "uniform":
            values = rng.uniform(spec.low, spec.high, n)
        elif kind == "lognormal":
            values = spec.median * np.exp(spec.sigma * rng.standard_normal(n))
        elif kind == "gamma":
            shape = 1.0 / spec.cv**2
            values = rng.gamma(shape, spec.mean_ / shape, n)
        else:
            samples = np.asarray(spec.samples)
            values = samples[(rng.random(n) * len(samples)).astype(np.int64)]
        if self.upper < math.inf:
            np.minimum(values, self.upper, out=values)
        return values

    def one(self) -> float:
        """Return one draw (from a buffer refilled in blocks)."""
        if self.is_constant:
            return self.spec.value
        if self._next >= len(self._buffer):
            self._buffer = self.draw(_BUFFER).tolist()
            self._next = 0
        value = self._buffer[self._next]
        self._next += 1
        return value
