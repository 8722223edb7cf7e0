"""``nel export``: hand finished jobs' results to an exporter."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from nel_cli import context
from nel_cli.output import emit_json

__all__ = ["export_command"]


def export_command(ids: Sequence[str], dest: str, overrides: Sequence[str], json_output: bool) -> None:
    """Export the results of ``ids`` to ``dest``."""
    from nel_core.errors import ConfigError
    from nel_core.plugins import load_exporter
    from nel_core.services import export_results, refresh

    spec = load_exporter(dest)
    store = context.store()
    selected = [store.resolve(i) for i in ids]
    settings: dict[str, object] = {}
    for invocation, _ in selected:
        settings.update((invocation.config.get("export") or {}).get(dest) or {})
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"-o {item}: expected key=value")
        settings[key] = _scalar(value)
    jobs = refresh(store, context.executor_for, selected)
    grouped = [(inv, [j for j in jobs if j.invocation_id == inv.id]) for inv, _ in selected]
    report = export_results(spec.factory(settings), grouped)
    if json_output:
        emit_json(
            {
                "destination": report.destination,
                "location": report.location,
                "exported": report.exported,
                "skipped": report.skipped,
            }
        )
        return
    typer.echo(f"exported {len(report.exported)} job(s) to {report.destination}: {report.location}")
    if report.skipped:
        typer.echo("skipped (not successful): " + ", ".join(report.skipped))


def _scalar(text: str) -> object:
    """``true``/``10``/``0.5``/``null`` as YAML reads them (as ``-o`` of ``run`` does); else the text."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if value is None or isinstance(value, (bool, int, float)) else text
