"""`python -m koppel.cli`."""

from koppel.cli import main

main()
