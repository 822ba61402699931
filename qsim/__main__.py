"""Allow `python -m qsim`."""

from qsim.cli import main

main()
