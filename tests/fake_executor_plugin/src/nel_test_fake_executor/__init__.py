"""nel-test-fake-executor: core's fakes registered through entry points, with their Hydra group.

The executor and the exporter are :mod:`nel_core.testing`'s; this package only ships
``conf/execution/fake.yaml`` (entry point ``nel.config``), so a test config can say
``- execution: fake`` in its defaults list as a user says ``- execution: local``.
"""

__all__: list[str] = []
