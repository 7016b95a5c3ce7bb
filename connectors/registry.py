"""The connector registry: every connector, built-in or a partner's pip package, is found
through the ``gateway.connectors`` entry-point group and validated once at start-up.

After start-up the registry's shape is fixed; tests swap the whole registry with
``override_registry`` instead of mutating it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from connectors.base import CAPABILITY_PROTOCOLS, Capability, Connector, InboundKind, Role

ENTRY_POINT_GROUP = "gateway.connectors"
_SLUG = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


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
                f"Connector {entry_point.name!r}: {entry_point.value} is not a connectors.base.Connector"
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
