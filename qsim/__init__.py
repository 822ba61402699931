"""qsim: simulate an SQS + Lambda design beside a synchronous service chain.

    >>> import qsim
    >>> scenario = qsim.load_scenario("spike", {"function.batch_size": 5})
    >>> result = qsim.run(scenario, seed=1)
    >>> result.summary.loc["response_latency_ms.p99"]

Names are imported on first use, so `qsim --help` starts quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "QsimError",
    "Result",
    "RunError",
    "Scenario",
    "ScenarioError",
    "bundled_scenarios",
    "load_scenario",
    "run",
    "sweep",
]

_HOMES = {
    "QsimError": "qsim.errors",
    "RunError": "qsim.errors",
    "ScenarioError": "qsim.errors",
    "Scenario": "qsim.scenario",
    "bundled_scenarios": "qsim.scenario",
    "load_scenario": "qsim.scenario",
    "run": "qsim.simulation",
    "Result": "qsim.results",
    "sweep": "qsim.sweeps",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'qsim' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__ + ["__version__"])
