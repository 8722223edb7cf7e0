"""``python -m nel_cli``."""

from nel_cli.entry import main

main()
