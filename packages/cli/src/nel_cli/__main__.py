"""``python -m nel_cli``."""

from nel_cli.main import main

main()
