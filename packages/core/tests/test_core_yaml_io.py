"""yaml_io: what dump writes, load reads back equal; harness results.yml files are read whole."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from nel_core.models.results import JobResults
from nel_core.services.stages import read_results
from nel_core.testing import results_document
from nel_core.yaml_io import YamlError, dump, load

#: Whether the reader and writer run on libyaml (the C ones) or on PyYAML's pure-Python ones.
MODES = [True, False] if yaml.__with_libyaml__ else [False]


@contextmanager
def libyaml(enabled: bool) -> Iterator[None]:
    """Make yaml_io use the C loader and dumper (``enabled``) or the pure-Python ones."""
    with mock.patch.object(yaml, "__with_libyaml__", enabled):
        yield


#: Strings a YAML 1.1 reader takes for something else when left plain (bool, null, number,
#: date, merge key, indicator), and strings that need escapes or careful line breaking.
TRICKY = [
    "NO", "no", "No", "yes", "Yes", "y", "n", "Y", "N", "on", "off", "ON", "Off", "true", "False",
    "null", "Null", "~", "", " ", "1.0", "1", "-1", "1e3", "1.0e-07", ".5", "0o17", "017", "0x1F",
    "1_000", "12:30", "2024-01-01", "2024-01-01 12:00:00", ".inf", "-.inf", ".nan", "<<", "=",
    "-", "- x", "?", "? x", ":", "a: b", "#", "x #y", "|", ">", "&a", "*a", "!t", "%x", "@x", "`x",
    "'", '"', "\\", "{}", "[]", "{a: 1}", "---", "...", "\t", "a\n", "\na", "a\n\nb", "a \n b",
    " lead", "trail ", "x\r\ny", "\x85", "\u2028", "\u2029", "\ufeff", "\x00", "\x7f", "é", "😀",
    "line one\n  indented two\n\tthree\n", "a" * 100, "word " * 30, "  two  spaces  " * 8,
]  # fmt: skip

keys = st.sampled_from(TRICKY) | st.text(max_size=12)
texts = st.sampled_from(TRICKY) | st.text(max_size=40) | st.text(alphabet=" \t\n\r\x85\u2028ab:#-'\"\\é😀", max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts)
documents: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=20,
)


def _same(a: Any, b: Any) -> bool:
    """Equality that also tells 1 from 1.0 and True from 1, and keeps key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)  # -0.0 stays -0.0
    return bool(a == b)


@pytest.mark.parametrize("c_yaml", MODES)
@given(documents)
@example({key: key for key in TRICKY})
@example({"temperature": 1e-07, "top_p": 0.9999999, "big": 1e16, "neg": -2.5e-300, "huge": 2**80})
@example([[], {}, [[1]], [{"k": [None]}], True, False, 0, -0.0, math.inf, -math.inf])
@example("plain top-level string")
def test_dump_then_load_is_identity(c_yaml: bool, value: Any) -> None:
    """Nested dicts and lists of str/int/float/bool/None read back as written: types, order, text."""
    with libyaml(c_yaml):
        assert _same(load(dump(value)), value)


@pytest.mark.parametrize("c_yaml", MODES)
def test_dump_writes_block_style_in_key_order(c_yaml: bool) -> None:
    """dump writes block collections, keys in insertion order, unicode as itself, boolean-like keys quoted."""
    with libyaml(c_yaml):
        text = dump({"z": {"b": [1, "x"], "a": "é"}, "NO": math.nan, "yes": True})
    assert text == "z:\n  b:\n  - 1\n  - x\n  a: é\n'NO': .nan\n'yes': true\n"


@pytest.mark.parametrize("c_yaml", MODES)
def test_c_loader_and_dumper_are_used_with_libyaml(c_yaml: bool) -> None:
    """load and dump use CSafeLoader/CSafeDumper when PyYAML has libyaml, SafeLoader/SafeDumper otherwise."""
    with (
        libyaml(c_yaml),
        mock.patch.object(yaml, "load", wraps=yaml.load) as loads,
        mock.patch.object(yaml, "dump", wraps=yaml.dump) as dumps,
    ):
        load(dump({"a": 1}))
    assert loads.call_args.kwargs["Loader"] is (yaml.CSafeLoader if c_yaml else yaml.SafeLoader)
    assert issubclass(dumps.call_args.kwargs["Dumper"], yaml.CSafeDumper if c_yaml else yaml.SafeDumper)


@pytest.mark.parametrize("c_yaml", MODES)
@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: 1\n  b: 2\n", "line 2, column 4"),
        ("a: 'unterminated\n", "line 2, column 1"),
        ("results:\n  tasks: {a: [1, 2}\n", "line 2, column 19"),
        ("a: !!python/object:os.system x\n", "line 1, column 4"),
        ("a:\n\t- 1\n", "line 2, column 1"),
        ("é: b\x00c\n", "line 1, column 5"),
        ("é:\n  é: \ud800\n", "line 2, column 6"),
        ("a: 1\n---\nb: 2\n", "line 2, column 1"),
    ],
)
def test_malformed_yaml_fails_with_its_position(c_yaml: bool, text: str, where: str) -> None:
    """A malformed document (or one with unsafe tags or forbidden characters) raises YamlError at line and column."""
    with libyaml(c_yaml), pytest.raises(YamlError, match=f"^{where}: "):
        load(text)


def test_dump_refuses_what_is_not_plain_data() -> None:
    """dump raises TypeError for values that are not plain data instead of writing Python tags."""
    with pytest.raises(TypeError, match="not plain data"):
        dump({"path": Path("/x")})


#: A results.yml of nemo-evaluator's shape whose echoed config uses block (|), folded (>)
#: and multi-line quoted scalars, as harness configs and prompts do.
HARNESS_RESULTS = """\
command: "python -m core_evals.nel_bench.runner --task arithmetic --output-dir '/results'\\
  \\ --model-url 'http://127.0.0.1:8018/v1/chat/completions' --system-prompt \\"Say\\n\\
  \\ hello\\""
config:
  output_dir: /results
  params:
    extra:
      system_prompt: |
        You are terse.
          Answer with a number.
      description: >
        Arithmetic problems,
        one per line.

        Scored by exact match.
      template: 'Question: {q}

        Answer:'
      stop: [ "\\n\\n", "###" ]
    limit_samples: 10
    temperature: 1.0e-07
    top_p: 0.9999999
  supported_endpoint_types:
  - chat
  type: nel_bench.arithmetic
git_hash: null
results:
  groups: {}
  tasks:
    arithmetic:
      metrics:
        pass@1:
          scores:
            correct:
              stats:
                count: 20
                mean: 0.8
                stddev: 0.4
                stderr: 0.0894
              value: 0.8
        requests:
          scores:
            failure_rate:
              stats: {count: 20, mean: 0.0, stddev: 0.0, stderr: 0.0}
              value: 0.0
target:
  api_endpoint:
    model_id: gemma-3-270m   # a comment
    type: chat
    url: http://127.0.0.1:8018/v1/chat/completions
"""


@pytest.mark.parametrize("c_yaml", MODES)
def test_harness_results_with_multi_line_scalars_are_read_whole(c_yaml: bool, tmp_path: Path) -> None:
    """A results.yml echoing multi-line block, folded and quoted scalars is read whole, scores and all."""
    (tmp_path / "results.yml").write_text(HARNESS_RESULTS)
    with libyaml(c_yaml):
        results, why = read_results(tmp_path)
        document = load(HARNESS_RESULTS)
    assert why == ""
    assert results.as_dict() == {"arithmetic.pass@1.correct": 0.8, "arithmetic.requests.failure_rate": 0.0}
    assert results.scores[0].stats == {"count": 20, "mean": 0.8, "stddev": 0.4, "stderr": 0.0894}
    extra = document["config"]["params"]["extra"]
    assert extra["system_prompt"] == "You are terse.\n  Answer with a number.\n"
    assert extra["description"] == "Arithmetic problems, one per line.\nScored by exact match.\n"
    assert extra["template"] == "Question: {q}\nAnswer:"
    assert extra["stop"] == ["\n\n", "###"]
    assert document["command"].endswith('--system-prompt "Say\n hello"')
    assert document["config"]["params"]["temperature"] == 1e-07


def test_results_written_as_the_harness_writes_them_are_read(tmp_path: Path) -> None:
    """A results.yml written by the harness's own call (yaml.dump, sorted keys) yields its scores."""
    document = {
        "git_hash": None,
        "command": "run --prompt 'Say\n  hello' --task t" + " --flag" * 20,
        "config": {"params": {"extra": {"prompt": "line one\nline two\n", "NO": "yes"}}, "type": "t"},
        "results": results_document("t", {"accuracy": 0.5, "pass@1.correct": 0.25}),
    }
    document["results"] = document["results"]["results"]
    (tmp_path / "results.yml").write_text(yaml.dump(document))
    results, why = read_results(tmp_path)
    assert why == ""
    assert results.as_dict() == {"t.accuracy.accuracy": 0.5, "t.pass@1.correct": 0.25}
    assert load((tmp_path / "results.yml").read_text()) == document


def test_empty_results_have_no_scores() -> None:
    """A results.yml whose tasks are empty (every request failed) holds no score."""
    assert not JobResults.from_mapping(load(dump(results_document("t", {})))).has_scores


def test_empty_document_is_none() -> None:
    """An empty document, or one of comments only, loads as None."""
    assert load("") is None and load("# nothing\n") is None
