"""Composition without Hydra's machinery for the configs that do not need it (most of them).

Two levels: :func:`compose_plain` for files without any interpolation (``${...}``), and no
``???`` left unset once composed, with PyYAML alone (OmegaConf's own YAML rules: duplicate keys
refused, YAML 1.2 floats, no timestamps; its merge: mappings merged key by key, anything else
replaced); and :func:`compose_simple`, with OmegaConf, for the rest of the configs described below.

Hydra's import and its composition take most of a dry run's time. A config whose defaults list
only picks packaged group options (``- execution: local``, ``- deployment: none``, ``_self_``),
whose picked files have no defaults list of their own, and whose ``-o`` overrides are plain
``key.path=value`` (or ``+key.path=value`` for a new key) is composed here with OmegaConf alone:
the same merge order as Hydra (each group's file under its group's key, in list order, the file
itself at ``_self_``, last when absent), the same value parsing of overrides, the same
interpolation resolution. Anything else (other override syntax, a group file with defaults, an
error of any kind) returns None, and :func:`nel_cli.compose.compose` asks Hydra, which gives the
answer or its exact error.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

__all__ = ["compose_plain", "compose_simple", "package_dir", "plain_loader", "refuse_duplicate_keys"]

_GROUP_OPTION = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
# A value Hydra's grammar reads as one primitive, the same way as here (no quotes, lists, sweeps,
# interpolations, escapes or spaces).
_VALUE = re.compile(r"[A-Za-z0-9_./:@%+\-]+")
_INT = re.compile(r"[+-]?(0|[1-9][0-9_]*)")
_FLOAT = re.compile(r"[+-]?(\d[\d_]*\.\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|\d[\d_]*[eE][+-]?\d+)")


def package_dir(name: str) -> Path | None:
    """The folder of package ``name``, found without importing it or its parents."""
    top, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location).joinpath(*rest)
        if folder.is_dir():
            return folder
    return None


def _value(text: str) -> Any:
    """An override's value as Hydra's grammar reads a primitive."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if _INT.fullmatch(text):
        return int(text.replace("_", ""))
    if _FLOAT.fullmatch(text) or lowered in ("inf", "+inf", "-inf", "nan", "+nan", "-nan"):
        return float(text.replace("_", ""))
    return text


def _defaults(data: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The primary config's defaults as (group, option) pairs, ``("_self_", "")`` in place."""
    entries = data.get("defaults", [])
    if not isinstance(entries, list):
        return None
    picked: list[tuple[str, str]] = []
    for entry in entries:
        if entry == "_self_":
            picked.append(("_self_", ""))
            continue
        if not (isinstance(entry, dict) and len(entry) == 1):
            return None
        ((group, option),) = entry.items()
        if not (isinstance(group, str) and group.isidentifier() and isinstance(option, str)):
            return None
        if not _GROUP_OPTION.fullmatch(option):
            return None
        picked.append((group, option))
    if ("_self_", "") not in picked:
        picked.append(("_self_", ""))
    return picked


def compose_simple(path: Path, overrides: Sequence[str], packages: Sequence[str]) -> dict[str, Any] | None:
    """The composed, resolved config; None when Hydra must compose it (see the module)."""
    from omegaconf import DictConfig, OmegaConf

    try:
        if "@package" in path.read_text(encoding="utf-8"):
            return None
        primary = OmegaConf.load(path)
        raw = OmegaConf.to_container(primary, resolve=False)
        if not isinstance(raw, dict):
            return None
        picked = _defaults(cast("dict[str, Any]", raw))
        if picked is None:
            return None
        folders = [folder for folder in map(package_dir, packages) if folder is not None]
        if len(folders) != len(packages):
            return None
        layers = []
        for group, option in picked:
            if group == "_self_":
                if isinstance(primary, DictConfig) and "defaults" in primary:
                    primary.pop("defaults")
                layers.append(primary)
                continue
            found = next((f / group / f"{option}.yaml" for f in folders if (f / group / f"{option}.yaml").is_file()),
                         None)  # fmt: skip
            if found is None:
                return None
            if "@package" in found.read_text(encoding="utf-8"):
                return None
            loaded = OmegaConf.load(found)
            if "defaults" in loaded:
                return None
            layers.append(OmegaConf.create({group: loaded}))
        cfg = OmegaConf.merge(*layers) if layers else OmegaConf.create({})
        OmegaConf.set_struct(cfg, True)
        for override in overrides:
            add = override.startswith("+") and not override.startswith("++")
            key, sep, text = override.removeprefix("+").partition("=")
            if not sep or not _KEY.fullmatch(key) or not _VALUE.fullmatch(text):
                return None
            if key.split(".")[0] in {group for group, _ in picked}.union({"hydra"}) and "." not in key:
                return None  # a group override (``deployment=vllm``): Hydra's job
            exists = OmegaConf.select(cfg, key, default=_MISSING) is not _MISSING
            if add == exists:
                return None  # ``+`` on an existing key, or a new key without ``+``: Hydra says why
            OmegaConf.update(cfg, key, _value(text), force_add=add)
        data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except Exception:  # noqa: BLE001 - any doubt goes to Hydra, which reports it properly
        return None
    return cast("dict[str, Any]", data) if isinstance(data, dict) else None


_MISSING = object()

_PLAIN_LOADER: Any = None


def plain_loader() -> Any:
    """OmegaConf's YAML loader (``omegaconf._utils.get_yaml_loader``) on libyaml, without OmegaConf."""
    global _PLAIN_LOADER
    if _PLAIN_LOADER is not None:
        return _PLAIN_LOADER
    import yaml

    base = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader

    class Loader(base):  # type: ignore[misc,valid-type]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            refuse_duplicate_keys(node)
            return super().construct_mapping(node, deep=deep)

    # The same rules as OmegaConf's loader: YAML 1.2 floats (1e3), no timestamps.
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"""^(?:
         [-+]?[0-9]+(?:_[0-9]+)*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+)
        |\.[0-9]+(?:_[0-9]+)*(?:[eE][-+][0-9]+)?
        |[-+]?[0-9]+(?:_[0-9]+)*(?::[0-5]?[0-9])+\.[0-9_]*
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
            re.X,
        ),
        list("-+0123456789."),
    )
    Loader.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in Loader.yaml_implicit_resolvers.items()
    }
    _PLAIN_LOADER = Loader
    return Loader


def _load_plain(path: Path) -> Any:
    import yaml

    text = path.read_text(encoding="utf-8")
    if "${" in text or "@package" in text:
        raise ValueError("needs OmegaConf")
    data = yaml.load(text, Loader=plain_loader())  # noqa: S506 - a safe loader
    return {} if data is None else data


def _merge(base: Any, over: Any) -> Any:
    """OmegaConf's merge of plain data: mappings key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return over


def compose_plain(path: Path, overrides: Sequence[str], packages: Sequence[str]) -> dict[str, Any] | None:
    """:func:`compose_simple` for files with no interpolation, without OmegaConf (None: not such files)."""
    try:
        primary = _load_plain(path)
        if not isinstance(primary, dict) or not all(isinstance(key, str) for key in primary):
            return None
        picked = _defaults(primary)
        folders = [folder for folder in map(package_dir, packages) if folder is not None]
        if picked is None or len(folders) != len(packages):
            return None
        data: dict[str, Any] = {}
        for group, option in picked:
            if group == "_self_":
                data = _merge(data, {k: v for k, v in primary.items() if k != "defaults"})
                continue
            found = next((f / group / f"{option}.yaml" for f in folders if (f / group / f"{option}.yaml").is_file()),
                         None)  # fmt: skip
            loaded = _load_plain(found) if found is not None else None
            if not isinstance(loaded, dict) or "defaults" in loaded:
                return None
            data = _merge(data, {group: loaded})
        groups = {group for group, _ in picked}
        for override in overrides:
            add = override.startswith("+") and not override.startswith("++")
            key, sep, text = override.removeprefix("+").partition("=")
            if not sep or not _KEY.fullmatch(key) or not _VALUE.fullmatch(text) or key in groups | {"hydra"}:
                return None
            *parents, leaf = key.split(".")
            node: Any = data
            for part in parents:
                if part not in node and add:
                    node[part] = {}
                node = node.get(part)
                if not isinstance(node, dict):
                    return None
            if (leaf in node) == add:
                return None  # ``+`` on an existing key, or a new key without ``+``: Hydra says why
            node[leaf] = _value(text)
    except Exception:  # noqa: BLE001 - any doubt goes to OmegaConf and Hydra, which report it properly
        return None
    return None if _unset(data) else data


def _unset(data: Any) -> bool:
    """Whether a ``???`` (OmegaConf's mandatory value) is left anywhere: Hydra's error says where."""
    if isinstance(data, dict):
        return any(_unset(value) for value in data.values())
    if isinstance(data, list):
        return any(_unset(value) for value in data)
    return bool(data == "???")


def refuse_duplicate_keys(node: Any) -> None:
    """Raise as OmegaConf's loader does when a YAML mapping node repeats a plain key."""
    import yaml

    keys = set()
    for key_node, _ in node.value:
        if key_node.tag != yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG:
            continue
        if key_node.value in keys:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key_node.value}", key_node.start_mark,
            )  # fmt: skip
        keys.add(key_node.value)
