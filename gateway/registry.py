"""The connector registry: every connector, built-in or a partner's pip package, is found
through the ``gateway.connectors`` entry-point group and validated once at start-up.

After start-up the registry's shape is fixed; tests swap the whole registry with
``override_registry`` instead of mutating it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from gateway.sdk import CAPABILITY_PROTOCOLS, Capability, Connector, InboundAuth, InboundKind, Role

ENTRY_POINT_GROUP = "gateway.connectors"
_SLUG = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_PATH_SEGMENT = re.compile(r"^([A-Za-z0-9_.-]+|\{[A-Za-z_][A-Za-z0-9_]*\})$")


class ConnectorError(Exception):
    """A connector that cannot be loaded; the message names it."""


class UnknownConnector(KeyError):
    pass


def validate_connector(connector: Connector, origin: str) -> None:
    """Raise ``ConnectorError`` naming ``origin`` if the connector's declaration is unusable."""

    def fail(problem: str) -> None:
        raise ConnectorError(f"Connector {origin!r}: {problem}")

    provider = getattr(connector, "provider", None)
    if not isinstance(provider, str) or not _SLUG.match(provider):
        fail(f"provider must be a lower-case slug, got {provider!r}")
    if not isinstance(getattr(connector, "name", None), str) or not connector.name:
        fail("name must be a non-empty string")
    if getattr(connector, "role", None) not in set(Role):
        fail(f"role must be one of {[r.value for r in Role]}")
    if connector.inbound is not None and connector.inbound not in set(InboundKind):
        fail(f"inbound must be one of {[k.value for k in InboundKind]} or None")
    for capability in connector.capabilities:
        if capability not in set(Capability):
            fail(f"unknown capability {capability!r}")
        if not isinstance(connector, CAPABILITY_PROTOCOLS[Capability(capability)]):
            fail(f"declares {capability} but has no {capability}() method")
    for attr in ("credentials_schema", "settings_schema"):
        schema = getattr(connector, attr)
        if not isinstance(schema, dict) or schema.get("type") != "object":
            fail(f"{attr} must be a JSON Schema of type object")
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            fail(f"{attr} is not a valid JSON Schema: {exc.message}")
    if connector.webhook_schema is not None:
        _check_schema(connector.webhook_schema, "webhook_schema", fail)
    if Capability.HANDLE_WEBHOOK in connector.capabilities and connector.inbound is not InboundKind.WEBHOOK_TOKEN:
        fail("declares handle_webhook but its inbound kind is not webhook_token")
    if connector.reconcile_every is not None:
        if Capability.FETCH_RESULT not in connector.capabilities:
            fail("declares reconcile_every but has no fetch_result")
        if not isinstance(connector.reconcile_every, int | float) or connector.reconcile_every < 60:
            fail("reconcile_every must be at least 60 seconds")
    for job in connector.jobs:
        if not callable(getattr(connector, job, None)):
            fail(f"declares job {job!r} but has no method of that name")
    for periodic in connector.periodic:
        if not callable(getattr(connector, periodic.method, None)):
            fail(f"periodic job {periodic.name!r} names no method {periodic.method!r}")
        if periodic.every < 10:
            fail(f"periodic job {periodic.name!r} runs more often than every 10 seconds")
    _validate_endpoints(connector, fail)


def _check_schema(schema: Any, what: str, fail: Callable[[str], None]) -> None:
    if not isinstance(schema, Mapping):
        fail(f"{what} must be a JSON Schema object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        fail(f"{what} is not a valid JSON Schema: {exc.message}")


def _validate_endpoints(connector: Connector, fail: Callable[[str], None]) -> None:
    seen_names: set[str] = set()
    seen_routes: set[tuple[str, str]] = set()
    for endpoint in connector.endpoints():
        where = f"endpoint {getattr(endpoint, 'name', endpoint)!r}"
        if endpoint.name in seen_names:
            fail(f"{where} is declared twice")
        seen_names.add(endpoint.name)
        if endpoint.method not in _METHODS:
            fail(f"{where}: method must be one of {sorted(_METHODS)}")
        if (endpoint.method, endpoint.path) in seen_routes:
            fail(f"{where}: {endpoint.method} {endpoint.path} is declared twice")
        seen_routes.add((endpoint.method, endpoint.path))
        segments = endpoint.path.split("/")
        if not endpoint.path or not all(_PATH_SEGMENT.match(segment) for segment in segments):
            fail(f"{where}: path {endpoint.path!r} must be relative segments, with {{name}} placeholders")
        if segments[0] == "webhooks":
            fail(f"{where}: webhooks/ is the gateway's own route for handle_webhook")
        if endpoint.auth not in set(InboundAuth):
            fail(f"{where}: auth must be one of {[a.value for a in InboundAuth]}")
        if (endpoint.auth is InboundAuth.PATH_TOKEN) != ("{token}" in segments):
            fail(f"{where}: a {{token}} segment goes with path_token authentication, and only with it")
        if connector.inbound is None:
            fail(f"{where}: endpoints need an inbound kind (the key that selects the account)")
        if not callable(endpoint.handler):
            fail(f"{where}: handler is not callable")
        for attr in ("request_schema", "query_schema", "response_schema"):
            schema = getattr(endpoint, attr)
            if schema is not None:
                _check_schema(schema, f"{where}: {attr}", fail)


class ConnectorRegistry:
    def __init__(self, connectors: Iterable[Connector]) -> None:
        by_provider: dict[str, Connector] = {}
        for connector in connectors:
            validate_connector(connector, type(connector).__name__)
            if connector.provider in by_provider:
                raise ConnectorError(f"Connector {connector.provider!r} is registered twice")
            by_provider[connector.provider] = connector
        self._by_provider = dict(sorted(by_provider.items()))

    def get(self, provider: str) -> Connector:
        try:
            return self._by_provider[provider]
        except KeyError:
            raise UnknownConnector(provider) from None

    def all(self) -> list[Connector]:
        return list(self._by_provider.values())

    def providers(self) -> list[str]:
        return list(self._by_provider)


def load_from_entry_points(group: str = ENTRY_POINT_GROUP) -> ConnectorRegistry:
    connectors = []
    for entry_point in entry_points(group=group):
        try:
            loaded = entry_point.load()
            connector = loaded() if isinstance(loaded, type) else loaded
        except Exception as exc:  # any import-time failure must name the plug-in
            raise ConnectorError(f"Connector {entry_point.name!r} failed to load: {exc}") from exc
        if not isinstance(connector, Connector):
            raise ConnectorError(
                f"Connector {entry_point.name!r}: {entry_point.value} is not a gateway.sdk.Connector"
            )
        validate_connector(connector, entry_point.name)
        if connector.provider != entry_point.name:
            raise ConnectorError(
                f"Connector {entry_point.name!r}: entry point name and provider "
                f"{connector.provider!r} differ"
            )
        connectors.append(connector)
    return ConnectorRegistry(connectors)


_active: ConnectorRegistry | None = None


def registry() -> ConnectorRegistry:
    global _active
    if _active is None:
        _active = load_from_entry_points()
    return _active


@contextmanager
def override_registry(*connectors: Connector) -> Iterator[ConnectorRegistry]:
    """Tests only: run with exactly these connectors."""
    global _active
    previous, _active = _active, ConnectorRegistry(connectors)
    try:
        yield _active
    finally:
        _active = previous
