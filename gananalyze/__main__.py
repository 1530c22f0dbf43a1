"""`python -m gananalyze` (and `torchrun -m gananalyze`) runs the CLI."""

from .cli import main

main()
