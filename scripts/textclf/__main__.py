"""`python -m textclf <stage> --help`: see textclf.cli."""

from textclf.cli import main

main()
