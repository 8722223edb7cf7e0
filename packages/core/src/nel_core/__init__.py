"""NEL core: domain, ports, services and config model (attrs, cattrs, PyYAML and the stdlib only).

Importing this package does no I/O and imports no submodule: import what you need from
``nel_core.models``, ``nel_core.ports``, ``nel_core.services`` and friends.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
