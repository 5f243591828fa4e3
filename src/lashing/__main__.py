"""`python -m lashing`."""

from lashing.cli.main import main

main()
