"""The recorded config: lit: values redacted wherever an env_vars mapping is, nothing else changed."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nel_core.services import redacted_config
from nel_core.testing.strategies import env_references, json_values, names


def test_literals_are_redacted_at_every_level() -> None:
    """lit: values in top-level, evaluation, task, deployment and executor env_vars become lit:<redacted>."""
    data = {
        "env_vars": {"A": "lit:top-secret", "B": "host:B", "C": "runtime:C"},
        "evaluation": {"env_vars": {"D": "lit:eval-secret"}, "tasks": [{"name": "t", "env_vars": {"E": "lit:x"}}]},
        "deployment": {"type": "vllm", "env_vars": {"F": "lit:3600"}},
        "execution": {"lepton": {"env_vars": {"G": "lit:g"}}, "note": "lit:not-an-env-value"},
    }
    original = copy.deepcopy(data)
    redacted = redacted_config(data)
    assert redacted["env_vars"] == {"A": "lit:<redacted>", "B": "host:B", "C": "runtime:C"}
    assert redacted["evaluation"]["env_vars"] == {"D": "lit:<redacted>"}
    assert redacted["evaluation"]["tasks"][0]["env_vars"] == {"E": "lit:<redacted>"}
    assert redacted["deployment"]["env_vars"] == {"F": "lit:<redacted>"}
    assert redacted["execution"]["lepton"]["env_vars"] == {"G": "lit:<redacted>"}
    assert redacted["execution"]["note"] == "lit:not-an-env-value"  # not an env value: left as written
    assert data == original


@given(st.dictionaries(names, env_references(), max_size=6), st.dictionaries(names, json_values, max_size=4))
def test_only_literal_values_change(env: dict[str, str], other: dict[str, Any]) -> None:
    """Redacting changes exactly the lit: values of env_vars; references and every other key stay."""
    other.pop("env_vars", None)
    data = {**other, "env_vars": env}
    redacted = redacted_config(data)
    assert {k: v for k, v in redacted.items() if k != "env_vars"} == other
    for name, raw in env.items():
        expected = "lit:<redacted>" if raw.startswith("lit:") else raw
        assert redacted["env_vars"][name] == expected
    assert json.loads(json.dumps(redacted)) == redacted
