"""Hydra composition: packaged config groups + the user's file + ``-o`` overrides → a dict.

The packaged groups (``execution/``, ``deployment/``) are NEL's own (``nel_cli.conf``) followed by
every plugin's config package (entry-point group ``nel.config``), so ``- execution: <plugin>``
in a defaults list finds the plugin's ``execution/<plugin>.yaml``. NEL's own files come first:
a plugin cannot replace them.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from nel_cli.compose_simple import compose_plain, compose_simple, refuse_duplicate_keys
from nel_core.errors import ConfigError
from nel_core.services.merge import deep_merge
from nel_core.suggest import suggest

__all__ = ["compose", "compose_with_hydra", "config_location", "config_packages"]

#: NEL's own config groups, first in Hydra's search path.
_OWN_PACKAGE = "nel_cli.conf"

_RESOLVERS_REGISTERED = False


def config_location(config: str | None, config_dir: str | None, config_name: str | None) -> Path:
    """The user's config file from ``--config`` or ``--config-dir``/``--config-name``.

    Raises:
        ConfigError: when neither is given, both are, or the file does not exist.
    """
    if config and (config_dir or config_name):
        flags = (("--config-dir", config_dir), ("--config-name", config_name))
        given = " and ".join(flag for flag, value in flags if value)
        raise ConfigError(
            f"--config cannot be combined with {given}",
            hint="use --config FILE alone, or --config-dir DIR --config-name NAME",
        )
    if config:
        path = Path(config)
    elif config_name:
        name = config_name if config_name.endswith((".yaml", ".yml")) else config_name + ".yaml"
        path = Path(config_dir or ".") / name
    else:
        raise ConfigError("no config given", hint="use --config FILE or --config-dir DIR --config-name NAME")
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    return path.resolve()


def config_packages() -> list[str]:
    """The packages searched for config groups: NEL's own, then each plugin's (``nel.config``).

    Raises:
        PluginError: when a plugin's config package cannot be found.
    """
    from nel_core.plugins import config_packages as plugin_packages

    return [_OWN_PACKAGE, *(p for p in plugin_packages() if p != _OWN_PACKAGE)]


def _register_resolvers() -> None:
    global _RESOLVERS_REGISTERED
    if _RESOLVERS_REGISTERED:
        return
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver(
        "select_not_null",
        lambda *values: next((v for v in values if v is not None), None),
        replace=True,
    )
    _RESOLVERS_REGISTERED = True


def _use_libyaml() -> None:
    """Make OmegaConf parse YAML with libyaml's C parser (about 10x faster on large configs).

    OmegaConf builds a pure-Python loader class on every call; this one is the same loader
    (duplicate keys refused, YAML 1.2 floats, no timestamps) on the C parser, built once.
    """
    import yaml
    from omegaconf import _utils, basecontainer, omegaconf

    if not getattr(yaml, "__with_libyaml__", False) or getattr(_utils, "_nel_fast_loader", None):
        return
    reference = _utils.get_yaml_loader()

    class FastLoader(yaml.CSafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            refuse_duplicate_keys(node)
            return super().construct_mapping(node, deep=deep)

    FastLoader.yaml_implicit_resolvers = dict(reference.yaml_implicit_resolvers)

    def get_yaml_loader() -> type:
        return FastLoader

    _utils._nel_fast_loader = FastLoader  # type: ignore[attr-defined]
    for module in (_utils, basecontainer, omegaconf):
        if hasattr(module, "get_yaml_loader"):
            module.get_yaml_loader = get_yaml_loader  # type: ignore[attr-defined]


def _check_yaml(path: Path) -> None:
    import yaml
    from omegaconf._utils import get_yaml_loader

    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not a text file (byte 0x{exc.object[exc.start]:02x} at offset {exc.start} is not UTF-8)",
            hint="a config is a YAML file in UTF-8",
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        # The loader OmegaConf will use (duplicate keys refused), for a file:line:column error.
        yaml.load(text, Loader=get_yaml_loader())  # noqa: S506 (a safe loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: malformed YAML: {exc.problem}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a NUL, ...)
        raise ConfigError(f"{path}: not a YAML file: {exc.reason} (#x{exc.character:x})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {' '.join(str(exc).split())}") from None


def compose(path: Path, overrides: Sequence[str]) -> dict[str, Any]:
    """Compose the config at ``path`` with ``overrides`` and resolve interpolations.

    ``config.*`` keys (``-o +config.params.limit_samples=10``) are applied to every task's
    harness config, over what the file says. A config that needs nothing of Hydra's own
    (:mod:`nel_cli.compose_simple`) is composed without importing it.

    Raises:
        ConfigError: malformed YAML (file:line:column), bad override, ``???`` left unset, ...
    """
    packages = config_packages()
    data = compose_plain(path, overrides, packages)
    if data is None:
        _use_libyaml()
        _check_yaml(path)
        _register_resolvers()
        data = compose_simple(path, overrides, packages)
    if data is None:
        data = compose_with_hydra(path, overrides, packages)
    data.pop("hydra", None)
    return _apply_params_overrides(data)


def compose_with_hydra(path: Path, overrides: Sequence[str], packages: Sequence[str]) -> dict[str, Any]:
    """Hydra's composition of ``path`` with ``overrides`` over the config ``packages``, resolved.

    Raises:
        ConfigError: bad override, ``???`` left unset, a bad interpolation, Hydra's own errors.
    """
    _use_libyaml()
    _register_resolvers()
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException, OverrideParseException
    from omegaconf import OmegaConf
    from omegaconf.errors import InterpolationResolutionError, MissingMandatoryValue, OmegaConfBaseException

    warnings.filterwarnings("ignore", module="hydra")
    search_path = "hydra.searchpath=[" + ",".join(f"pkg://{p}" for p in packages) + "]"
    try:
        with initialize_config_dir(config_dir=str(path.parent), version_base=None, job_name="nel"):
            cfg = hydra_compose(config_name=path.stem, overrides=[*overrides, search_path])
        data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except OverrideParseException as exc:
        bad = getattr(exc, "override", None)
        reason = _first_line(exc)
        if bad and reason.startswith("LexerNoViableAltException"):
            reason = "cannot read it"
        where = f"bad override '-o {bad}'" if bad else "bad override"
        raise ConfigError(f"{where}: {reason}", hint="write -o key=value (Hydra syntax)") from None
    except MissingMandatoryValue as exc:
        key = getattr(exc, "full_key", "") or "?"
        raise ConfigError(f"{key}: required value is not set ('???' in {path.name})",
                          hint=f"set it in the file or with -o {key}=...") from None
    except InterpolationResolutionError as exc:
        key = getattr(exc, "full_key", "") or "?"
        raise ConfigError(f"{key}: cannot resolve interpolation: {_first_line(exc)}") from None
    except (HydraException, OmegaConfBaseException) as exc:
        raise _hydra_error(exc, path) from None
    assert isinstance(data, dict)
    return cast("dict[str, Any]", data)


def _apply_params_overrides(data: dict[str, Any]) -> dict[str, Any]:
    from nel_core.errors import Problems
    from nel_core.params import check_evaluator_config

    harness = data.pop("config", None)
    if harness is None:
        return data
    if not isinstance(harness, dict):
        raise ConfigError("config: expected a mapping (e.g. -o +config.params.limit_samples=10)")
    # Checked once, named as written (-o +config.params.X=V), rather than once per task.
    problems = check_evaluator_config({"config": harness}, "nemo_evaluator_config")
    Problems.raise_any([ConfigError(_as_written(p.message), hint=p.hint) for p in problems])
    evaluation = data.get("evaluation")
    if isinstance(evaluation, list):
        evaluation = {"tasks": evaluation}
    evaluation = dict(evaluation or {})
    tasks = []
    for task in evaluation.get("tasks") or []:
        if isinstance(task, dict):
            evaluator = task.get("nemo_evaluator_config") or {}
            task = {**task, "nemo_evaluator_config": deep_merge(evaluator, {"config": harness})}
        tasks.append(task)
    evaluation["tasks"] = tasks
    data["evaluation"] = evaluation
    return data


def _as_written(message: str) -> str:
    return message.removeprefix("nemo_evaluator_config.")


def _hydra_error(exc: BaseException, path: Path) -> ConfigError:
    """One line (and a hint) from Hydra's multi-line messages."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    message = lines[0] if lines else type(exc).__name__
    hint = None
    if message.startswith("Could not override") and exc.__cause__ is not None:
        # "Could not override 'a.b'." + cause "Key 'b' is not in struct": say which key is missing.
        reason = _first_line(exc.__cause__).replace("is not in struct", "is not in the config")
        message = f"{message.rstrip('.')}: {reason}"
    appended = next((line for line in lines[1:] if line.startswith("To append")), None)
    if appended:
        hint = "check the spelling; " + appended[0].lower() + appended[1:]
    options_at = next((i for i, line in enumerate(lines) if line.startswith("Available options")), None)
    if options_at is not None:
        options = []
        for line in lines[options_at + 1 :]:
            if line.startswith("Config search path"):
                break
            options.append(line)
        missing = re.search(r"Could not find '([^/']*)/([^']*)'", message)
        if missing:  # Hydra lists only a group's top level (not slurm/default): add ours
            options = sorted(set(options) | set(_packaged_options(missing.group(1))))
        close = suggest(missing.group(2), options) if missing else None
        known = "available: " + ", ".join(options)
        hint = f"did you mean '{close}'? ({known})" if close else known
    return ConfigError(f"{path.name}: {message}", hint=hint)


def _packaged_options(group: str) -> list[str]:
    """The options of ``group`` in every config package (nested ones as ``slurm/default``)."""
    from importlib import resources

    found: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".yaml"):
                found.append(prefix + child.name[: -len(".yaml")])

    for package in config_packages():
        root = resources.files(package).joinpath(group)
        if root.is_dir():
            walk(root, "")
    return sorted(set(found))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
