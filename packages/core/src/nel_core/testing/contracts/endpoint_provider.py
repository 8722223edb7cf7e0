"""Contract of :class:`~nel_core.ports.EndpointProvider`."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from nel_core.converter import structure_run_config
from nel_core.errors import ConfigError
from nel_core.models.config import ApiEndpoint, ExecutionConfig, RunConfig, Target
from nel_core.ports.capabilities import Capability
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.testing._builders import run_config_data

__all__ = ["EndpointProviderContract"]


class EndpointProviderContract:
    """What every endpoint provider does. Subclass it and provide the ``provider`` fixture.

    :meth:`config` gives a run config whose deployment the provider serves (by default
    ``deployment: none`` with a target URL). With a deployment that starts a server, the suite
    starts it, waits until it is ready and stops it; :attr:`ready_timeout` bounds the wait.
    """

    #: Seconds ``wait_ready`` may take in the start test.
    ready_timeout = 120.0

    @pytest.fixture
    def provider(self) -> EndpointProvider:
        """Override: the provider under test."""
        raise NotImplementedError("subclasses provide the 'provider' fixture")

    def config(self, tmp_path: Path) -> RunConfig:
        """A run config with a deployment the provider serves (default: ``none``)."""
        return structure_run_config(run_config_data(tmp_path / "out"), ExecutionConfig)

    def _none(self, tmp_path: Path) -> RunConfig:
        config = self.config(tmp_path)
        if config.deployment.starts_server:
            pytest.skip("the provider's deployment starts a server")
        return config

    def _server(self, tmp_path: Path) -> RunConfig:
        config = self.config(tmp_path)
        if not config.deployment.starts_server:
            pytest.skip("the provider's deployment starts no server")
        return config

    # -------------------------------------------------------------------------------- tests

    def test_declares_name_and_capabilities(self, provider: EndpointProvider) -> None:
        """A provider has a name and declares its capabilities as Capability values."""
        assert isinstance(provider.name, str) and provider.name
        assert all(isinstance(c, Capability) for c in provider.capabilities)

    def test_plan_is_a_spec_exactly_when_a_server_starts(
        self, provider: EndpointProvider, tmp_path: Path
    ) -> None:
        """plan() gives None for a deployment that starts nothing, else the same spec each time."""
        config = self.config(tmp_path)
        spec = provider.plan(config, config.deployment)
        assert (spec is not None) == config.deployment.starts_server
        assert provider.plan(config, config.deployment) == spec

    def test_endpoint_is_usable(self, provider: EndpointProvider, tmp_path: Path) -> None:
        """endpoint() gives an http(s) URL and a model id for every endpoint type."""
        config = self.config(tmp_path)
        endpoint = provider.endpoint(config, provider.plan(config, config.deployment))
        assert endpoint.base_url.startswith(("http://", "https://"))
        assert endpoint.model_id
        for kind in ("chat", "completions"):
            assert endpoint.url_for(kind).startswith(endpoint.base_url.rstrip("/"))

    def test_none_uses_the_target_as_written(
        self, provider: EndpointProvider, tmp_path: Path
    ) -> None:
        """With ``none``, the endpoint is target.api_endpoint's url and model_id, unchanged."""
        config = self._none(tmp_path)
        api = ApiEndpoint(url="http://10.1.2.3:9000/v1/chat/completions", model_id="m-7")
        config = attrs.evolve(config, target=Target(api_endpoint=api))
        endpoint = provider.endpoint(config, provider.plan(config, config.deployment))
        assert endpoint.url_for("chat") == api.url
        assert endpoint.model_id == "m-7"

    @pytest.mark.parametrize("missing", ["url", "model_id"])
    def test_none_without_url_or_model_fails(
        self, provider: EndpointProvider, tmp_path: Path, missing: str
    ) -> None:
        """With ``none``, a missing url or model_id is a ConfigError naming the key."""
        config = self._none(tmp_path)
        api = attrs.evolve(
            ApiEndpoint(url="http://127.0.0.1:9/v1/chat/completions", model_id="m"),
            **{missing: None},
        )
        config = attrs.evolve(config, target=Target(api_endpoint=api))
        with pytest.raises(ConfigError, match=rf"target\.api_endpoint\.{missing}"):
            provider.endpoint(config, provider.plan(config, config.deployment))

    def test_started_server_is_ready_then_stops(
        self, provider: EndpointProvider, tmp_path: Path
    ) -> None:
        """A planned server starts, becomes ready, and stops (stopping twice is fine)."""
        config = self._server(tmp_path)
        spec = provider.plan(config, config.deployment)
        assert spec is not None
        assert spec.port > 0 and spec.served_model_name and spec.health_path.startswith("/")
        handle = provider.start(spec, tmp_path)
        try:
            provider.wait_ready(handle, spec, self.ready_timeout)
        finally:
            provider.stop(handle)
        provider.stop(handle)
