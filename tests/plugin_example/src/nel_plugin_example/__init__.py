"""nel-plugin-example: one of each kind of NEL plugin part, small enough to copy from.

- ``nel.runtimes: example-shell`` → :data:`RUNTIME_SPEC`: runs a spec's command with ``sh -c``.
- ``nel.deployments: example_server`` → :data:`DEPLOYMENT_SPEC`: a server started by a command,
  with its Hydra group ``conf/deployment/example_server.yaml`` (``nel.config: example``).
- ``nel.exporters: example-jsonl`` → :data:`EXPORTER_SPEC`: one JSON line per job in a file.

Importing this package imports nel-core only.
"""

from nel_plugin_example._deployment import DEPLOYMENT_SPEC, ExampleServerDeployment, plan_example_server
from nel_plugin_example._exporter import EXPORTER_SPEC, JsonlExporter
from nel_plugin_example._runtime import RUNTIME_SPEC, ShellRuntime

__all__ = [
    "DEPLOYMENT_SPEC",
    "EXPORTER_SPEC",
    "RUNTIME_SPEC",
    "ExampleServerDeployment",
    "JsonlExporter",
    "ShellRuntime",
    "plan_example_server",
]
