"""`python -m textclf.config`: print docs/settings.md (as `python -m textclf.config.docs`)."""

from textclf.config.docs import main

main()
