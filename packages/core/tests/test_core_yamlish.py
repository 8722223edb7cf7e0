"""yamlish: what it writes reads back (by itself and by PyYAML); it reads harness results."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given

from nel_core.models.results import JobResults
from nel_core.testing import results_document
from nel_core.testing.strategies import json_values
from nel_core.yamlish import YamlError, dump, load

#: A results.yml as nemo-evaluator 0.1.95 writes it (PyYAML's block style, a folded command).
HARNESS_RESULTS = """\
command: python -m core_evals.nel_bench.runner --task arithmetic --output-dir '/results'
  --model-url 'http://127.0.0.1:8018/v1/chat/completions' --model-id 'gemma-3-270m'
  --model-type chat  --limit-samples 10 --parallelism 4 --request-timeout 30 --max-retries
  3 --temperature 0.0  --max-new-tokens 16
config:
  output_dir: /results
  params:
    extra: {}
    limit_samples: 10
    max_new_tokens: 16
    parallelism: 4
    temperature: 1.0e-07
    top_p: 0.9999999
  supported_endpoint_types:
  - chat
  - completions
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
    adapter_config:
      interceptors:
      - config:
          cache_dir: /results/cache
          reuse_cached_responses: true
        enabled: true
        name: caching
      - config: {}
        enabled: true
        name: endpoint
      mode: server
    model_id: gemma-3-270m   # a comment
    type: chat
    url: http://127.0.0.1:8018/v1/chat/completions
"""


def _same(a: Any, b: Any) -> bool:
    """Equality that also tells 1 from 1.0 and True from 1 (YAML must keep the types)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


@given(json_values)
@example({"temperature": 1e-07, "top_p": 0.9999999, "big": 1e16, "neg": -2.5e-300})
@example({"a\\": ["x\\", 'y" #z', "\u2028\x85\x7f", "it's", "a: b", "- c", "#d", ""]})
@example({"true": "null", "1": "1.5", "": None, "~": "~", "key: x": ["", {}, []]})
@example([[], {}, [[1]], [{"k": [None]}], True, False, 0, -0.0, math.inf, -math.inf])
@example("plain top-level string")
def test_dump_then_load_is_identity(value: Any) -> None:
    """Nested dicts and lists of str/int/float/bool/None read back as written, types kept."""
    assert _same(load(dump(value)), value)


@given(json_values)
@example({"temperature": 1e-07, "s": "1e-07", "n": "null", "b": "yes", "o": "0o17"})
def test_pyyaml_reads_what_dump_writes(value: Any) -> None:
    """PyYAML (what harnesses use) reads dump's output as the same value (1e-07 as a float)."""
    yaml = pytest.importorskip("yaml")
    assert _same(yaml.safe_load(dump(value)), value)


def test_nan_round_trips() -> None:
    """NaN is written as .nan and read back as NaN."""
    assert math.isnan(load(dump({"x": math.nan}))["x"])


def test_harness_results_are_read_like_pyyaml_reads_them() -> None:
    """A realistic nemo-evaluator results.yml parses to what PyYAML gives."""
    parsed = load(HARNESS_RESULTS)
    assert parsed["config"]["params"]["temperature"] == 1e-07
    assert parsed["command"].startswith("python -m core_evals.nel_bench.runner --task arithmetic")
    assert parsed["command"].endswith("--max-new-tokens 16")
    assert parsed["results"]["tasks"]["arithmetic"]["metrics"]["requests"]["scores"][
        "failure_rate"
    ]["stats"] == {"count": 20, "mean": 0.0, "stddev": 0.0, "stderr": 0.0}
    yaml = pytest.importorskip("yaml")
    assert _same(parsed, yaml.safe_load(HARNESS_RESULTS))


def test_harness_results_give_their_scores() -> None:
    """The scores of a realistic results.yml are found by JobResults."""
    results = JobResults.from_mapping(load(HARNESS_RESULTS))
    assert results.as_dict() == {
        "arithmetic.pass@1.correct": 0.8,
        "arithmetic.requests.failure_rate": 0.0,
    }
    correct = results.scores[0]
    assert correct.stats["count"] == 20 and not correct.group


def test_empty_results_have_no_scores() -> None:
    """A results.yml whose tasks are empty (every request failed) holds no score."""
    assert not JobResults.from_mapping(load(dump(results_document("t", {})))).has_scores


def test_results_document_is_what_harnesses_write() -> None:
    """The test builder's results.yml has the harness's shape and reads back as its scores."""
    text = dump(results_document("mmlu", {"accuracy": 0.5, "pass@1.correct": 0.25}))
    assert JobResults.from_mapping(load(text)).as_dict() == {
        "mmlu.accuracy.accuracy": 0.5,
        "mmlu.pass@1.correct": 0.25,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb:\n  - x\n  - y\n", {"a": 1, "b": ["x", "y"]}),
        ("a:\n- 1\n- 2\nb: 3\n", {"a": [1, 2], "b": 3}),
        ("- a: 1\n  b: 2\n- c\n", [{"a": 1, "b": 2}, "c"]),
        ("a: 'it''s'   # note\n", {"a": "it's"}),
        ("a: it's # note\n", {"a": "it's"}),
        ('a: "x # not a comment"\n', {"a": "x # not a comment"}),
        ("a: [1, two, 'three']\nb: {c: d}\n", {"a": [1, "two", "three"], "b": {"c": "d"}}),
        ('a: ["x\\\\", "y"]\n', {"a": ["x\\", "y"]}),
        ('a: {"k\\"q": 1, b: [1, 2]}\n', {"a": {'k"q': 1, "b": [1, 2]}}),
        ("a: [it's, 'z''s']\n", {"a": ["it's", "z's"]}),
        ("---\na: ~\n...\n", {"a": None}),
        ("a: 1\r\nb: 2\r\n", {"a": 1, "b": 2}),
        ("", None),
    ],
)
def test_reads_common_yaml(text: str, expected: Any) -> None:
    """Block and flow collections, quotes, comments and document markers read as YAML says."""
    assert load(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a: |\n  text\n",
        "a: &anchor 1\n",
        "a: *anchor\n",
        "a:\n\t- 1\n",
        "a: 'unterminated\n",
        "a: 1\n   b: 2\n",
    ],
)
def test_unsupported_yaml_fails_with_line(text: str) -> None:
    """YAML outside the supported subset raises YamlError naming the line."""
    with pytest.raises(YamlError, match=r"line \d+"):
        load(text)


def test_results_are_read_past_yaml_the_reader_does_not_support(tmp_path) -> None:
    """A results.yml whose echoed config uses multi-line quoted strings still yields its scores."""
    from nel_core.services.stages import read_results

    (tmp_path / "results.yml").write_text(
        'command: "python -m runner --prompt \\"Say\n  hello\\""\n'
        "config:\n  params:\n    system_prompt: |\n      You are\n      terse.\n"
        "results:\n  groups: {}\n  tasks:\n    capitals:\n      metrics:\n        accuracy:\n"
        "          scores:\n            correct: {stats: {count: 2, mean: 0.5}, value: 0.5}\n"
        "target:\n  api_endpoint:\n    url: http://127.0.0.1:1/v1\n"
    )
    results, why = read_results(tmp_path)
    assert why == ""
    assert results.as_dict() == {"capitals.accuracy.correct": 0.5}
