"""``POST /accounts/{id}/check``: the account's stored credentials tried against the
partner now, through the connector's ``check`` capability."""

from __future__ import annotations

from typing import Any

from gateway.api.errors import NotSupported
from gateway.assessments.connectors import account_connector, provider_errors
from gateway.ports import context_for
from gateway.sdk import Capability, ProviderError
from gateway.tenancy.models import Account, AccountStatus
from gateway.tenancy.services import account_status_record


def account_check(*, account: Account) -> dict[str, Any]:
    """``{"status": "ok"}``, or ``{"status": "error", "provider_errors": [...]}`` with the
    partner's answers, redacted. The account's status follows: ``active`` or ``error``."""
    connector = account_connector(account)
    if not connector.supports(Capability.CHECK):
        raise NotSupported(f"The {connector.name} connector cannot check credentials: its partner offers no way.")
    ctx = context_for(account)
    try:
        connector.check(ctx)  # type: ignore[attr-defined]
    except ProviderError as exc:
        answer: dict[str, Any] = {
            "status": "error",
            "provider_errors": provider_errors(exc.calls) or [{"status": exc.status, "url": None, "raw": str(exc)}],
        }
        new_status, reason = AccountStatus.ERROR, f"check: {exc}"
    else:
        answer, new_status, reason = {"status": "ok"}, AccountStatus.ACTIVE, ""
    account_status_record(account_id=account.id, status=new_status, reason=reason)
    return answer
