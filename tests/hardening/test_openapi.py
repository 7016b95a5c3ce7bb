"""The partner endpoints in ``/openapi.json`` (CONTRACT §2: "everything above and
below"), merged by ``gateway.api.schema.connector_paths_hook`` from each connector's
``openapi_paths()``; the merged schema still validates without warnings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from gateway.sdk import Connector, Role
from connectors.greenhouse.connector import GreenhouseConnector
from gateway.registry import override_registry
from gateway.api.schema import ERROR_REF, connector_paths_hook
from tests.hardening.schema import connector_hook, openapi_schema, requires_auth

PARTNER_SECURITY = {
    "/connectors/greenhouse/": [{"greenhouseInboundKey": []}],
    "/connectors/softgarden/": [{"softgardenInboundKey": []}],
    "/connectors/testdome/": [],
}


def test_the_schema_with_partner_endpoints_validates_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yml"
    with connector_hook():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    partner = {path for path in schema["paths"] if path.startswith("/connectors/")}
    assert len(partner) == 9, partner
    schemes = schema["components"]["securitySchemes"]
    assert schemes["greenhouseInboundKey"] == {**schemes["greenhouseInboundKey"], "type": "http", "scheme": "basic"}
    assert schemes["softgardenInboundKey"] == {**schemes["softgardenInboundKey"], "type": "http", "scheme": "bearer"}


def test_every_partner_operation_names_its_credential_and_its_errors() -> None:
    schema = openapi_schema()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert operation["responses"]["default"]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
            prefix = next((p for p in PARTNER_SECURITY if path.startswith(p)), None)
            if prefix is not None:
                assert operation["security"] == PARTNER_SECURITY[prefix], (method, path)
                assert operation["operationId"].startswith(prefix.split("/")[2]), operation["operationId"]
            elif path != "/health":
                assert requires_auth(operation), (method, path)


class _Clashing(Connector):
    provider = "clashing"
    name = "Clashing"
    role = Role.ATS

    def urls(self) -> list[Any]:
        return [object()]  # only "mounts something" matters here

    def openapi_components(self) -> dict[str, dict[str, Any]]:
        return {"securitySchemes": {"greenhouseInboundKey": {"type": "http", "scheme": "bearer"}}}


def test_a_connector_whose_names_clash_stops_schema_generation_naming_it() -> None:
    registry = override_registry(GreenhouseConnector(), _Clashing())
    with registry, pytest.raises(ImproperlyConfigured, match="'greenhouse'.*connector 'clashing'"):
        connector_paths_hook({"paths": {}, "components": {}}, None, None, True)
