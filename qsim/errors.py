"""Exceptions raised by qsim.

All of them derive from `QsimError`::

    QsimError
    ├── ScenarioError (also a ValueError): a scenario file or value is wrong;
    │                   the message names the file, the key and what is allowed
    └── RunError:       a simulation could not finish
"""

from __future__ import annotations

__all__ = ["QsimError", "RunError", "ScenarioError"]


class QsimError(Exception):
    """Base class of every error qsim raises on purpose."""


class ScenarioError(QsimError, ValueError):
    """A scenario (file, dict or override) is invalid.

    Args:
        problems: one line per problem, each naming the key and the rule.
        source: the file (or "<dict>") the scenario came from.
    """

    def __init__(self, problems: list[str] | str, source: str = "<scenario>") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        super().__init__("\n".join(f"{source}: {line}" for line in self.problems))


class RunError(QsimError):
    """A simulation could not be completed."""
