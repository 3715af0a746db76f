"""The ``graphspec`` command line: one module per command (see ``graphspec.cli.main`` for how to
add one); ``main(argv)`` runs it and returns the exit code."""
from .main import COMMANDS, main

__all__ = ["COMMANDS", "main"]
