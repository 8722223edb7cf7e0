"""Invocation stores."""

from nel_core.store.sqlite import SqliteInvocationStore, default_home

__all__ = ["SqliteInvocationStore", "default_home"]
