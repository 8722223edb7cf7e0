"""``parallelism: auto`` for any harness: an adapter interceptor that adapts what reaches the model.

NEL's own runner adapts its concurrency itself (:mod:`.concurrency`). Other harnesses keep a
fixed thread pool; for them NEL sets ``parallelism`` to the most requests the server may take
and routes them through nemo-evaluator's adapter proxy as usual, where this module's interceptor,
``nel_adaptive_endpoint``, takes the place of nemo-evaluator's ``endpoint`` interceptor: it
wraps that very interceptor (the request still goes upstream through nemo-evaluator's code) in
an :class:`~.concurrency.AdaptiveLimiter`, so that the requests beyond the chosen level wait in
the proxy. Cached answers never reach it (the caching interceptor comes first).

Two parts:

- :func:`prepare` (``python3 -m core_evals.nel_bench.adaptive RUN_CONFIG --maximum N``), run by
  the job before ``run_eval``: takes the adapter chain nemo-evaluator itself would build for
  the run config (its defaults, or the config's own interceptors), puts the gate in the place
  of ``endpoint``, and writes the chain back into the run config (atomically; a prepared run
  config is left as it is, so a resumed job prepares nothing).
- :class:`AdaptiveEndpoint`, the interceptor. A 429 or 503 its own probing caused (the
  limiter answered for it, see :attr:`~.concurrency.Slot.eased`) is asked again under the
  current level instead of reaching the harness, whose retries and failure counts stay its
  own. It writes what it chose into the output dir as ``nel_concurrency.json``
  (``parallelism``, ``tokens_per_s``, ``levels``, ...) each time the level changes and when
  the evaluation ends.
"""

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

from .files import replace_text

__all__ = ["GATE", "SUMMARY_FILE", "main", "prepare"]

#: The interceptor's name in nemo-evaluator's registry.
GATE = "nel_adaptive_endpoint"
#: What the interceptor writes into the output dir (NEL reads it by this name).
SUMMARY_FILE = "nel_concurrency.json"
#: The module nemo-evaluator's discovery imports to find the interceptor.
MODULE = "core_evals.nel_bench.adaptive"


def prepare(run_config: dict[str, Any], maximum: int) -> bool:
    """Put the gate in the place of ``endpoint`` in ``run_config``'s adapter chain.

    Returns:
        False when the chain has the gate already (nothing changed).

    Raises:
        ValueError: the chain has no ``endpoint`` interceptor to gate (``nvcf``, say).
    """
    from nemo_evaluator.adapters.adapter_config import AdapterConfig

    api_endpoint = run_config.setdefault("target", {}).setdefault("api_endpoint", {})
    current = api_endpoint.get("adapter_config") or {}
    if any(_name(i) == GATE for i in current.get("interceptors") or []):
        return False
    config = AdapterConfig.get_validated_config(run_config)
    interceptors = [i.model_dump() for i in config.interceptors]
    names = [i["name"] for i in interceptors]
    if "endpoint" not in names:
        raise ValueError(
            f"the adapter chain ({', '.join(names)}) has no endpoint interceptor to gate"
        )
    interceptors[names.index("endpoint")] = {
        "name": GATE,
        "enabled": True,
        "config": {"maximum": maximum},
    }
    prepared = {
        key: value
        for key, value in current.items()
        if key in AdapterConfig.model_fields
        and key not in ("interceptors", "post_eval_hooks", "discovery")
    }
    discovery = config.discovery.model_dump()
    discovery["modules"] = [*discovery.get("modules", []), MODULE]
    prepared.update(
        discovery=discovery,
        interceptors=interceptors,
        post_eval_hooks=[h.model_dump() for h in config.post_eval_hooks],
    )
    api_endpoint["adapter_config"] = prepared
    return True


def _name(entry: Any) -> str | None:
    return entry if isinstance(entry, str) else (entry or {}).get("name")


def main(argv: list[str] | None = None) -> int:
    """``python3 -m core_evals.nel_bench.adaptive RUN_CONFIG --maximum N``: prepare in place."""
    import yaml

    parser = argparse.ArgumentParser(
        description="Gate a run config's requests with parallelism: auto."
    )
    parser.add_argument("run_config", type=Path)
    parser.add_argument(
        "--maximum", type=int, required=True, help="the most requests ever in flight"
    )
    args = parser.parse_args(argv)
    document = yaml.safe_load(args.run_config.read_text()) or {}
    try:
        changed = prepare(document, max(1, args.maximum))
    except ValueError as exc:
        print(
            f"[nel] parallelism auto: {exc}; {args.maximum} requests in flight throughout",
            file=sys.stderr,
        )
        return 0
    if changed:
        replace_text(args.run_config, yaml.safe_dump(document, sort_keys=False))
        print(
            f"[nel] parallelism auto: at most {args.maximum} requests in flight, adapted",
            file=sys.stderr,
        )
    return 0


def _completion_tokens(content: bytes | None) -> int | None:
    try:
        usage = json.loads(content or b"").get("usage") or {}
    except (ValueError, AttributeError):
        return None
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) else None


try:  # The interceptor exists where nemo-evaluator does (the adapter proxy's process).
    from nemo_evaluator.adapters.decorators import register_for_adapter
    from nemo_evaluator.adapters.interceptors.endpoint_interceptor import EndpointInterceptor
    from nemo_evaluator.adapters.types import (
        AdapterGlobalContext,
        AdapterRequest,
        AdapterResponse,
        PostEvalHook,
        RequestToResponseInterceptor,
    )
    from pydantic import BaseModel, Field
except ImportError:  # pragma: no cover - the runner and prepare() need none of it
    pass
else:
    from .concurrency import THROTTLED, AdaptiveLimiter

    @register_for_adapter(
        name=GATE,
        description="NEL's parallelism: auto: the endpoint interceptor behind an adaptive limit",
    )
    class AdaptiveEndpoint(RequestToResponseInterceptor, PostEvalHook):
        """nemo-evaluator's ``endpoint`` interceptor, with at most the limiter's level in flight."""

        class Params(BaseModel):
            """The gate's settings."""

            maximum: int = Field(default=16, ge=1, description="the most requests ever in flight")

        def __init__(self, params: Params) -> None:
            self._endpoint = EndpointInterceptor(EndpointInterceptor.Params())
            self._limiter = AdaptiveLimiter(params.maximum)
            self._lock = threading.Lock()
            self._written = -1

        def intercept_request(
            self, ar: AdapterRequest, context: AdapterGlobalContext
        ) -> AdapterResponse:
            while True:
                with self._limiter.slot() as slot:
                    response: AdapterResponse = self._endpoint.intercept_request(ar, context)
                    slot.status = response.r.status_code
                    slot.tokens = _completion_tokens(response.r.content)
                if len(self._limiter.history) != self._written:
                    self._save(context)
                # A 429/503 the limiter answered for was the price of its probe, not the
                # harness's: asked again under the current level (each time the level is lower
                # or newer, so this ends).
                if not (slot.status in THROTTLED and slot.eased):
                    return response

        def post_eval_hook(self, context: AdapterGlobalContext) -> None:
            self._save(context, force=True)

        def _save(self, context: AdapterGlobalContext, *, force: bool = False) -> None:
            with self._lock:
                seen = len(self._limiter.history)
                if seen == self._written and not force:
                    return
                self._written = seen
                summary = {**self._limiter.summary(), "requests": self._limiter.answers}
                replace_text(
                    Path(context.output_dir) / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n"
                )


if __name__ == "__main__":
    sys.exit(main())
