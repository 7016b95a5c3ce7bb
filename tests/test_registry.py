"""``gateway.registry``: declarations validated at start-up, with messages naming the
connector; ``override_registry``; the entry-point registry."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from gateway import registry as registry_module
from gateway.registry import (
    ConnectorError,
    ConnectorRegistry,
    UnknownConnector,
    load_from_entry_points,
    override_registry,
    registry,
)
from gateway.sdk import Capability, Connector, Context, RemotePackage, Role
from tests.fakes import FakeAtsConnector, FakeProviderConnector


class ValidConnector(Connector):
    provider = "valid_one"
    name = "Valid one"
    role = Role.PROVIDER
    capabilities = frozenset({Capability.LIST_PACKAGES})

    def list_packages(self, ctx: Context) -> list[RemotePackage]:
        return []


class BadSlugConnector(ValidConnector):
    provider = "Bad-Slug"


class NoNameConnector(Connector):
    provider = "no_name"
    role = Role.ATS


class EmptyNameConnector(ValidConnector):
    provider = "empty_name"
    name = ""


class UnknownRoleConnector(ValidConnector):
    provider = "unknown_role"
    role = "recruiter"  # type: ignore[assignment]


class MissingMethodConnector(Connector):
    provider = "missing_method"
    name = "Missing method"
    role = Role.PROVIDER
    capabilities = frozenset({Capability.CREATE_ORDER})


class UnknownCapabilityConnector(ValidConnector):
    provider = "unknown_capability"
    capabilities = frozenset({"teleport"})  # type: ignore[arg-type]


class ArraySchemaConnector(ValidConnector):
    provider = "array_schema"
    credentials_schema: ClassVar[dict[str, Any]] = {"type": "array"}


class ListSchemaConnector(ValidConnector):
    provider = "list_schema"
    settings_schema: ClassVar[Any] = ["not", "a", "schema"]


class InvalidSchemaConnector(ValidConnector):
    provider = "invalid_schema"
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {"x": {"type": "colour"}}}


class BadInboundConnector(ValidConnector):
    provider = "bad_inbound"
    inbound = "carrier_pigeon"  # type: ignore[assignment]


def test_a_valid_connector_registers():
    built = ConnectorRegistry([ValidConnector(), FakeAtsConnector()])
    assert built.providers() == ["fake_ats", "valid_one"]
    assert isinstance(built.get("valid_one"), ValidConnector)
    assert [type(c) for c in built.all()] == [FakeAtsConnector, ValidConnector]
    with pytest.raises(UnknownConnector):
        built.get("nope")


@pytest.mark.parametrize(
    "connector, problem",
    [
        (BadSlugConnector, "provider must be a lower-case slug"),
        (NoNameConnector, "name must be a non-empty string"),
        (EmptyNameConnector, "name must be a non-empty string"),
        (UnknownRoleConnector, "role must be one of"),
        (MissingMethodConnector, "declares create_order but has no create_order() method"),
        (UnknownCapabilityConnector, "unknown capability"),
        (ArraySchemaConnector, "credentials_schema must be a JSON Schema of type object"),
        (ListSchemaConnector, "settings_schema must be a JSON Schema of type object"),
        (InvalidSchemaConnector, "settings_schema is not a valid JSON Schema"),
        (BadInboundConnector, "inbound must be one of"),
    ],
)
def test_invalid_declarations_raise_naming_the_connector(connector, problem):
    with pytest.raises(ConnectorError) as raised:
        ConnectorRegistry([ValidConnector(), connector()])
    message = str(raised.value)
    assert connector.__name__ in message
    assert problem in message


def test_a_duplicate_provider_is_refused():
    class Twin(ValidConnector):
        pass

    with pytest.raises(ConnectorError, match="'valid_one' is registered twice"):
        ConnectorRegistry([ValidConnector(), Twin()])


def test_override_registry_restores_the_previous_one():
    before = registry()
    with override_registry(FakeAtsConnector(), FakeProviderConnector()) as inner:
        assert registry() is inner
        assert registry().providers() == ["fake_ats", "fake_provider"]
        with override_registry(ValidConnector()):
            assert registry().providers() == ["valid_one"]
        assert registry() is inner
    assert registry() is before


def test_override_registry_restores_after_an_exception():
    before = registry()
    with pytest.raises(RuntimeError), override_registry(ValidConnector()):
        raise RuntimeError("boom")
    assert registry() is before


def test_override_registry_validates_too():
    before = registry()
    with pytest.raises(ConnectorError, match="BadSlugConnector"), override_registry(BadSlugConnector()):
        pass  # pragma: no cover
    assert registry() is before


def test_the_entry_point_registry_loads_the_built_in_connectors():
    loaded = load_from_entry_points()
    assert {"greenhouse", "softgarden", "testdome"} <= set(loaded.providers())
    assert loaded.get("greenhouse").role is Role.ATS
    assert loaded.get("softgarden").role is Role.ATS
    assert loaded.get("testdome").role is Role.PROVIDER
    assert all(isinstance(connector, Connector) for connector in loaded.all())


def test_the_default_registry_is_the_entry_point_registry(monkeypatch):
    monkeypatch.setattr(registry_module, "_active", None)
    assert {"greenhouse", "softgarden", "testdome"} <= set(registry().providers())


def test_an_unknown_entry_point_group_is_an_empty_registry():
    assert load_from_entry_points(group="gateway.connectors.none").providers() == []
