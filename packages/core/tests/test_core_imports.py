"""nel_core depends on attrs, cattrs, PyYAML and the standard library only, and does no I/O on import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_PROBE = r"""
import json, os, sys, importlib
import nel_core
skip = ("nel_core.testing.contracts", "nel_core.testing.strategies")
root = os.path.dirname(nel_core.__file__)
names = []  # found on disk: pkgutil.walk_packages would import packages to look inside them
for folder, _, files in os.walk(root):
    package = "nel_core" + folder[len(root):].replace(os.sep, ".")
    for file in sorted(files):
        if file.endswith(".py"):
            names.append(package if file == "__init__.py" else f"{package}.{file[:-3]}")
for name in names:
    if not name.startswith(skip):
        importlib.import_module(name)
print(json.dumps({"modules": sorted({m.split(".")[0] for m in sys.modules}), "imported": names}))
"""

#: Third-party distributions core may import: attrs, cattrs (and what it needs) and PyYAML
#: (whose C extension, built with Cython, registers ``cython_runtime``).
ALLOWED = {"attr", "attrs", "cattrs", "nel_core", "typing_extensions", "exceptiongroup", "yaml", "cython_runtime"}


def test_core_imports_only_attrs_cattrs_pyyaml_and_stdlib(tmp_path: Path) -> None:
    """Importing every nel_core module (fakes included) pulls in no other third-party package."""
    home = tmp_path / "nel-home"
    result = subprocess.run(
        [sys.executable, "-I", "-c", _PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={"NEL_HOME": str(home), "HOME": str(tmp_path / "user")},
        cwd=tmp_path,
    )
    probe = json.loads(result.stdout)
    third_party = {
        name
        for name in probe["modules"]
        if name not in sys.stdlib_module_names and not name.startswith("_") and name not in ALLOWED
    }
    assert third_party == set()
    assert "nel_core.testing" in probe["imported"] and "nel_core.store.sqlite" in probe["imported"]


def test_import_does_no_io(tmp_path: Path) -> None:
    """Importing nel_core's modules creates no file: not NEL_HOME, not ~/.nel, nothing in cwd."""
    subprocess.run(
        [sys.executable, "-I", "-c", _PROBE],
        capture_output=True,
        check=True,
        env={"NEL_HOME": str(tmp_path / "nel-home"), "HOME": str(tmp_path / "user")},
        cwd=tmp_path,
    )
    assert list(tmp_path.iterdir()) == []
