"""NEL's executor for this host: see :mod:`nel_executor_local.executor`."""
