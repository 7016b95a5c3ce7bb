"""Ashby (ats role): Ashby calls our Assessments Partner API (``assessment.list``,
``assessment.start``, ``assessment.cancel``) and hears about progress and results
through its own ``assessment.update``. Public reference:
https://developers.ashbyhq.com/docs/creating-an-assessments-integration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from connectors.ashby import mapping, rpc, schemas, update
from gateway.sdk import Capability, Connector, Context, Endpoint, InboundKind, OrderView, OutboundRequestSpec, Role


def _endpoint(name: str, handler: Any, summary: str, request: Any, response: Any,
              errors: Mapping[int, str] | None = None) -> Endpoint:
    """Every Ashby RPC is a POST with a JSON body, at the path of its name."""
    return Endpoint(
        name=name,
        method="POST",
        path=name,
        auth=mapping.INBOUND_AUTH,
        basic_password_ok=mapping.KEY_AS_PASSWORD_OK,
        handler=handler,
        summary=summary,
        request_schema=request,
        response_schema=response,
        errors=errors or {},
    )


class AshbyConnector(Connector):
    provider = mapping.PROVIDER
    name = "Ashby"
    role = Role.ATS
    capabilities = frozenset({Capability.DELIVER_RESULT, Capability.CHECK})
    inbound = InboundKind.API_KEY
    allowed_hosts = mapping.DEFAULT_CALLBACK_HOSTS
    credentials_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "api_key": {
                "type": "string",
                "minLength": 1,
                "writeOnly": True,
                "title": "Ashby API key",
                "description": "Created in Ashby under Admin > Integrations > API Keys, with the "
                "Candidates write permission (candidatesWrite): results are sent with it.",
            }
        },
        "required": ["api_key"],
        "additionalProperties": False,
    }
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "api_base_url": {
                "type": "string",
                "format": "uri",
                "pattern": "^https?://",
                "default": mapping.DEFAULT_API_BASE_URL,
                "title": "Ashby API base URL",
            },
            "callback_hosts": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": list(mapping.DEFAULT_CALLBACK_HOSTS),
                "title": "Ashby API hosts",
                "description": "Hosts assessment updates may be sent to.",
            },
        },
    }

    def endpoints(self) -> Sequence[Endpoint]:
        return (
            _endpoint(mapping.RPC_LIST, rpc.list_assessments, "The assessment types for Ashby's picker",
                      schemas.LIST_REQUEST, schemas.LIST_RESPONSE),
            _endpoint(mapping.RPC_START, rpc.start_assessment, "Start an assessment for one application",
                      schemas.START_REQUEST, schemas.START_RESPONSE,
                      errors={422: "An unknown assessment_type_id: {\"message\"}, which Ashby shows its user."}),
            _endpoint(mapping.RPC_CANCEL, rpc.cancel_assessment, "Cancel an assessment",
                      schemas.CANCEL_REQUEST, schemas.CANCEL_RESPONSE),
        )

    def inbound_urls(self, *, account_id: str, secret: str, public_url: str) -> dict[str, Any]:
        return mapping.partner_urls(public_url)

    def inbound_error_body(self, *, status: int, message: str, errors: Sequence[Mapping[str, Any]],
                           request_id: str) -> Any:
        return mapping.error_body(status=status, message=message, errors=errors, request_id=request_id or None)

    def deliver_result(self, ctx: Context, order: OrderView) -> OutboundRequestSpec | None:
        return update.update_request(ctx, order)

    def check(self, ctx: Context) -> None:
        update.key_check(ctx)
