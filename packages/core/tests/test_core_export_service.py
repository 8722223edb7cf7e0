"""Core's export flow: settings and overrides, jobs read from folders, skips, fetches and refusals."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from nel_core.errors import ConfigError, ExportError, NotFoundError
from nel_core.exporting import Settings, apply_overrides, destination_settings
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.services import ExportFailed, export_results, jobs_from_dirs, select_jobs
from nel_core.testing import FakeResultExporter, make_invocation, make_jobs, write_results
from nel_core.yaml_io import dump


def test_overrides_reach_into_the_destination_only() -> None:
    """``-o export.<dest>.key=value`` and ``key=value`` apply; another destination's are ignored."""
    settings = apply_overrides(
        {"tags": {"a": "1"}, "drop": 1},
        "mlflow",
        ["export.mlflow.tags.b=2", "experiment_name=x", "export.wandb.project=p", "~export.mlflow.drop",
         "++export.mlflow.log_metrics=[acc, f1]", "skip_existing=true"],
    )  # fmt: skip
    assert settings == {
        "tags": {"a": "1", "b": 2},
        "experiment_name": "x",
        "log_metrics": ["acc", "f1"],
        "skip_existing": True,
    }
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_overrides({}, "local", ["format"])


def test_destination_settings_are_the_config_block() -> None:
    """The ``export.<dest>`` block of a config, a copy; empty when absent."""
    config = {"export": {"local": {"format": "csv"}}}
    block = destination_settings(config, "local")
    block["format"] = "json"
    assert config["export"]["local"]["format"] == "csv"
    assert destination_settings(config, "mlflow") == {}


def test_unknown_setting_names_its_key_and_a_suggestion() -> None:
    """A misspelt key fails naming export.<dest>.<key> and the closest known one."""
    with pytest.raises(ConfigError) as caught:
        Settings("local", {"formt": "csv"}, {"format"})
    assert caught.value.message == "export.local.formt: unknown setting"
    assert caught.value.hint == "did you mean 'format'?"
    settings = Settings("local", {"copy_logs": "yes", "format": 3}, {"format"})
    assert settings.flag("copy_logs", False) is True
    with pytest.raises(ConfigError, match=r"^export.local.format: expected one of csv, json"):
        settings.choice("format", {"json", "csv"}, None)


def _invocation_folder(root: Path, invocation_id: str = "aaaa1111") -> Path:
    folder = root / invocation_id
    folder.mkdir(parents=True)
    config = {"execution": {"type": "slurm"}, "evaluation": {"tasks": [{"name": "h.one"}, {"name": "h.two"}]}}
    (folder / "config.yaml").write_text(dump(config))
    write_results(folder / "0-h.one" / "artifacts", "one", {"acc": 0.5})
    (folder / "0-h.one" / "stage.exit").write_text("0\n")
    (folder / "1-h.two" / "artifacts").mkdir(parents=True)
    (folder / "1-h.two" / "stage.exit").write_text("3\n")
    return folder


@pytest.mark.parametrize("given", ["output_dir", "invocation", "job"])
def test_jobs_are_read_from_any_level_of_folder(tmp_path: Path, given: str) -> None:
    """An output_dir, an invocation's folder or a job's folder all give the invocation and its jobs."""
    folder = _invocation_folder(tmp_path / "out")
    root = {"output_dir": tmp_path / "out", "invocation": folder, "job": folder / "0-h.one"}[given]
    [(invocation, jobs)] = jobs_from_dirs([root])
    assert (invocation.id, invocation.executor) == ("aaaa1111", "slurm")
    assert [(j.id, j.task_name, j.state) for j in jobs] == [
        ("aaaa1111.0", "h.one", JobState.SUCCESS),
        ("aaaa1111.1", "h.two", JobState.FAILED),
    ]
    assert jobs[1].reason == "the harness exited with code 3"


def test_ids_select_from_the_folders(tmp_path: Path) -> None:
    """Ids (or prefixes) pick invocations or single jobs; an id found nowhere is an error."""
    found = jobs_from_dirs([_invocation_folder(tmp_path)])
    assert [j.id for _, jobs in select_jobs(found, ["aaaa1111.1"]) for j in jobs] == ["aaaa1111.1"]
    assert [j.id for _, jobs in select_jobs(found, ["aaaa"]) for j in jobs] == ["aaaa1111.0", "aaaa1111.1"]
    with pytest.raises(NotFoundError, match="^bbbb: no such invocation or job"):
        select_jobs(found, ["bbbb"])
    with pytest.raises(NotFoundError, match="no job folder found"):
        jobs_from_dirs([tmp_path / "aaaa1111" / "0-h.one" / "artifacts"])


def _succeeded(tmp_path: Path, count: int = 3) -> tuple[Invocation, list[Job]]:
    invocation = make_invocation(output_dir=str(tmp_path))
    jobs = make_jobs(invocation, count, states=[JobState.SUCCESS] * count, root=tmp_path)
    for job in jobs:
        write_results(Path(job.job_dir) / "artifacts", f"task{job.index}", {"acc": 0.5})
    return invocation, jobs


def test_jobs_without_results_are_skipped_with_the_reason(tmp_path: Path) -> None:
    """No results.yml, no score, or not successful: each skipped job says why."""
    invocation, jobs = _succeeded(tmp_path)
    (Path(jobs[1].job_dir) / "artifacts" / "results.yml").unlink()
    (Path(jobs[2].job_dir) / "artifacts" / "results.yml").write_text("results: {tasks: {}}\n")
    failed = attrs.evolve(jobs[0], id="x.9", state=JobState.FAILED, reason="boom")
    report = export_results(FakeResultExporter(), [(invocation, [*jobs, failed])])
    assert report.exported == [jobs[0].id]
    assert report.skipped == {
        jobs[1].id: "the harness wrote no results.yml",
        jobs[2].id: "the harness exited 0 but results.yml holds no score",
        "x.9": "not successful (failed: boom)",
    }


def test_a_job_elsewhere_is_fetched_first(tmp_path: Path) -> None:
    """A job whose folder is not here is exported from the copy ``fetch`` makes; without one it is skipped."""
    invocation, jobs = _succeeded(tmp_path / "remote", count=1)
    away = attrs.evolve(jobs[0], job_dir=str(tmp_path / "not-here"))
    copies: list[Path] = []

    def fetch(inv: Invocation, job: Job, into: Path) -> Path:
        import shutil

        copies.append(into)
        return Path(shutil.copytree(jobs[0].job_dir, into))

    exporter = FakeResultExporter()
    assert export_results(exporter, [(invocation, [away])], fetch=fetch).exported == [away.id]
    assert exporter.records[away.id].scores == {"task0_acc_acc": 0.5, "task0_acc_acc_stderr": 0.0}
    assert copies and not copies[0].exists()  # the staging copy is gone afterwards
    report = export_results(FakeResultExporter(), [(invocation, [away])])
    assert report.skipped[away.id].endswith("is not on this host and cannot be copied here")


def test_log_metrics_of_the_destination_is_applied_by_core(tmp_path: Path) -> None:
    """The exporter's ``log_metrics`` setting filters what it receives, whatever the exporter."""
    invocation, jobs = _succeeded(tmp_path, count=1)
    write_results(Path(jobs[0].job_dir) / "artifacts", "t", {"acc": 0.5, "f1.macro": 0.1})
    exporter = FakeResultExporter({"log_metrics": ["macro"]})
    export_results(exporter, [(invocation, jobs)])
    assert exporter.records[jobs[0].id].scores == {"t_f1_macro": 0.1, "t_f1_macro_stderr": 0.0}


def test_a_partial_refusal_fails_naming_the_refused_jobs(tmp_path: Path) -> None:
    """A destination that reports some jobs as failed makes the export fail, naming those jobs."""
    invocation, jobs = _succeeded(tmp_path, count=2)

    class Picky(FakeResultExporter):
        def export(self, items):  # type: ignore[no-untyped-def]
            report = super().export(items[:1])
            return type(report)(destination=self.name, location="x", exported=report.exported,
                                failed={item.job.id: "too big" for item in items[1:]})  # fmt: skip

    with pytest.raises(ExportFailed) as caught:
        export_results(Picky(), [(invocation, jobs)])
    assert isinstance(caught.value, ExportError)
    assert caught.value.report.exported == [jobs[0].id]
    assert caught.value.message == f"fake: 1 job(s) refused (first: too big); jobs not exported: {jobs[1].id}"


def test_what_an_exporter_prints_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An SDK's chatter on stdout is moved to stderr, so a command's --json output stays clean."""
    invocation, jobs = _succeeded(tmp_path, count=1)

    class Chatty(FakeResultExporter):
        def export(self, items):  # type: ignore[no-untyped-def]
            print("View run at: http://example")
            return super().export(items)

    export_results(Chatty(), [(invocation, jobs)])
    captured = capsys.readouterr()
    assert captured.out == "" and "View run at" in captured.err
