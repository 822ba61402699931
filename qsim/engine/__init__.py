"""The runtime model: SimPy processes built from a Scenario.

Nothing here parses user input; everything is in base units (seconds,
bytes, USD). `qsim.engine.run_topology` is the entry point.
"""
