"""Scenario specification: typed models, units and loading."""

from qsim.scenario.loading import (
    apply_overrides,
    bundled_scenarios,
    load_scenario,
    parse_override,
)
from qsim.scenario.models import Scenario
from qsim.scenario.warnings import scenario_warnings

__all__ = [
    "Scenario",
    "apply_overrides",
    "bundled_scenarios",
    "load_scenario",
    "parse_override",
    "scenario_warnings",
]
