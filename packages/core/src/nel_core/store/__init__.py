"""Invocation stores."""

from nel_core.store._migrations import SCHEMA_VERSION
from nel_core.store.sqlite import SqliteInvocationStore, default_home

__all__ = ["SCHEMA_VERSION", "SqliteInvocationStore", "default_home"]
