"""Container runtimes of the local executor."""
