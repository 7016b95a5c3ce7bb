"""How the core serves any connector's declared partner endpoints: one order of checks,
one error body (or the connector's envelope), the account chosen by the key."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from gateway.assessments.models import Package
from gateway.partners.openapi import connector_openapi
from gateway.registry import override_registry
from tests.conftest import TenantHandle, basic
from tests.helpers import error_of
from tests.partners.connectors import DeclaringAts, EnvelopedAts

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.partners.urls")]


@pytest.fixture(autouse=True)
def registry() -> Iterator[None]:
    with override_registry(DeclaringAts(), EnvelopedAts()):
        yield


@pytest.fixture
def key(tenant: TenantHandle) -> str:
    return tenant.link("declaring_ats")["inbound"]["api_key"]


def _post(path: str, body: bytes | str, *, auth: str, content_type: str = "application/json", **extra: Any) -> Any:
    return Client().post(path, body, content_type=content_type, HTTP_AUTHORIZATION=auth, **extra)


def test_a_valid_call_reaches_the_handler_with_the_keys_account(tenant: TenantHandle, key: str) -> None:
    response = _post("/connectors/declaring_ats/echo?mode=a", '{"name": "x", "count": null}', auth=basic(key))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["body"] == {"name": "x", "count": None}
    assert body["query"] == {"mode": "a"}
    assert body["account"].startswith("acc_")


@pytest.mark.parametrize("auth", ["", "Basic", basic("nope"), "Bearer whatever", basic("", "")])
def test_a_missing_or_wrong_key_is_401_with_a_challenge(key: str, auth: str) -> None:
    response = _post("/connectors/declaring_ats/echo", '{"name": "x"}', auth=auth)
    error_of(response, 401)
    assert response["WWW-Authenticate"] == 'Basic realm="gateway"'


def test_the_key_in_the_wrong_scheme_is_refused(key: str) -> None:
    assert Client().get("/connectors/declaring_ats/tests", HTTP_AUTHORIZATION=basic(key)).status_code == 401
    assert Client().get("/connectors/declaring_ats/tests", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200


def test_another_tenants_key_never_reaches_this_tenants_data(tenant: TenantHandle, other_tenant: TenantHandle,
                                                              key: str) -> None:
    Package.objects.create(account_id=tenant.link("declaring_ats")["id"], remote_id="mine", name="Mine")
    other_key = other_tenant.link("declaring_ats")["inbound"]["api_key"]
    response = Client().get("/connectors/declaring_ats/tests", HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert response.json() == []


def test_a_key_of_another_connector_is_refused(tenant: TenantHandle) -> None:
    enveloped_key = tenant.link("enveloped_ats")["inbound"]["api_key"]
    error_of(_post("/connectors/declaring_ats/echo", '{"name": "x"}', auth=basic(enveloped_key)), 401)


def test_other_methods_are_405_with_allow(key: str) -> None:
    response = Client().put("/connectors/declaring_ats/echo", "{}", content_type="application/json",
                            HTTP_AUTHORIZATION=basic(key))
    assert error_of(response, 405)["message"] == "Method PUT not allowed."
    assert response["Allow"] == "POST"
    response = Client().post("/connectors/declaring_ats/items/x", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert error_of(response, 405)
    assert response["Allow"] == "DELETE, GET, HEAD"


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b"", "application/json", 400),
        (b"{not json", "application/json", 400),
        (b'{"name": "x", "name": "y"}', "application/json", 400),
        (b'{"name": NaN}', "application/json", 400),
        (b"name=x", "application/x-www-form-urlencoded", 415),
        (b'{"name": "x"}', "text/plain", 415),
        (b'{"count": 1}', "application/json", 400),
        (b'{"name": "", "count": "many"}', "application/json", 400),
    ],
)
def test_bad_bodies_are_4xx_in_the_error_shape(key: str, raw: bytes, content_type: str, status: int) -> None:
    error_of(_post("/connectors/declaring_ats/echo", raw, auth=basic(key), content_type=content_type), status)


def test_schema_errors_name_each_field(key: str) -> None:
    response = _post("/connectors/declaring_ats/echo", '{"name": "", "count": "many"}', auth=basic(key))
    assert sorted(error["field"] for error in error_of(response, 400)["errors"]) == ["count", "name"]
    response = _post("/connectors/declaring_ats/echo?mode=z", '{"name": "x"}', auth=basic(key))
    assert [error["field"] for error in error_of(response, 400)["errors"]] == ["mode"]


def test_a_body_over_the_limit_is_413(key: str, settings: Any) -> None:
    settings.GATEWAY_MAX_BODY_BYTES = 100
    error_of(_post("/connectors/declaring_ats/echo", '{"name": "' + "x" * 200 + '"}', auth=basic(key)), 413)


def test_a_chunked_body_without_a_length_is_411_not_a_silent_success(key: str) -> None:
    response = Client().generic(
        "POST", "/connectors/declaring_ats/echo", b"", content_type="application/json",
        HTTP_AUTHORIZATION=basic(key), HTTP_TRANSFER_ENCODING="chunked",
    )
    error_of(response, 411)


def test_path_parameters_reach_the_handler_and_its_errors_render(key: str) -> None:
    response = Client().get("/connectors/declaring_ats/items/ord_missing", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert error_of(response, 404)["message"] == "No such item"
    response = Client().delete("/connectors/declaring_ats/items/ord_x", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 204 and response.content == b""


def test_a_provider_429_stays_a_429_with_retry_after(key: str) -> None:
    response = Client().get("/connectors/declaring_ats/upstream", HTTP_AUTHORIZATION=basic(key))
    error_of(response, 429)
    assert response["Retry-After"] == "7"


def test_a_connector_envelope_replaces_the_error_body(tenant: TenantHandle) -> None:
    key = tenant.link("enveloped_ats")["inbound"]["api_key"]
    response = _post("/connectors/enveloped_ats/rpc.echo", "{}", auth=basic("wrong"))
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert response.json()["errorInfo"]["requestId"] == response["X-Request-Id"]
    password_only = "Basic " + base64.b64encode(f":{key}".encode()).decode()
    assert _post("/connectors/enveloped_ats/rpc.echo", '{"name": "x"}', auth=password_only).status_code == 200


def test_only_connectors_that_allow_it_take_the_key_as_password(key: str) -> None:
    password_only = "Basic " + base64.b64encode(f":{key}".encode()).decode()
    error_of(_post("/connectors/declaring_ats/echo", '{"name": "x"}', auth=password_only), 401)


def test_the_openapi_document_comes_from_the_declarations() -> None:
    paths, schemes = connector_openapi(DeclaringAts())
    assert set(paths) == {
        "/connectors/declaring_ats/echo", "/connectors/declaring_ats/tests",
        "/connectors/declaring_ats/items/{item_id}", "/connectors/declaring_ats/upstream",
    }
    echo = paths["/connectors/declaring_ats/echo"]["post"]
    assert echo["security"] == [{"declaring_atsInboundKey": []}]
    count = echo["requestBody"]["content"]["application/json"]["schema"]["properties"]["count"]
    assert count == {"type": "integer", "nullable": True}  # JSON Schema's type list, as OpenAPI 3.0 says it
    assert {"400", "401", "413", "415"} <= set(echo["responses"])
    assert set(paths["/connectors/declaring_ats/items/{item_id}"]) == {"get", "delete"}
    assert schemes["declaring_atsInboundKey"]["scheme"] == "basic"
    assert schemes["declaring_atsInboundKeyBearer"]["scheme"] == "bearer"


def test_the_registry_refuses_an_endpoint_whose_token_and_auth_disagree() -> None:
    from gateway.registry import ConnectorError, validate_connector
    from gateway.sdk import Endpoint, InboundAuth

    class Broken(DeclaringAts):
        def endpoints(self) -> list[Endpoint]:
            return [Endpoint("x", "POST", "hooks/{token}", InboundAuth.BASIC_KEY, lambda ctx, request: None)]

    with pytest.raises(ConnectorError, match="token"):
        validate_connector(Broken(), "broken")


@pytest.mark.parametrize("path", ["/unified/ats/assessments/orders/ord_x/result", "/accounts/acc_x"])
def test_chunked_bodies_are_refused_everywhere_not_dropped(tenant: TenantHandle, path: str) -> None:
    response = tenant.client.generic(
        "PATCH", path, b"", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked", HTTP_X_ACCOUNT_ID="acc_x"
    )
    error_of(response, 411)
