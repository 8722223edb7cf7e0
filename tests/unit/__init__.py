"""CLI tests: the real program in subprocesses (see conftest.py)."""
