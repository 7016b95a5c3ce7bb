"""TestDome (provider role): the tenant orders tests; results come back by webhook (a
trigger only) and reconciliation. Protocol: shared/providers/testdome.md.

Kept light to import (the registry loads it at start-up): Django-dependent modules (the
webhook view, the tasks, the sync service) are imported only when used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from connectors.base import (
    AccountContext,
    Capability,
    Connector,
    CreatedOrder,
    InboundKind,
    OrderRequest,
    ProviderError,
    RemotePackage,
    Role,
)
from connectors.testdome import mapping
from connectors.testdome.client import MAX_RETRY_AFTER, TestDomeApiError, TestDomeClient

if TYPE_CHECKING:
    from django.urls import URLPattern, URLResolver

logger = logging.getLogger(__name__)

DEFAULT_DEADLINE_DAYS = 7
CANDIDATE_EXPAND = ["test", "activities"]


def order_email(order_or_candidate: Any) -> str | None:
    candidate = (
        order_or_candidate
        if isinstance(order_or_candidate, Mapping)
        else getattr(order_or_candidate, "candidate", None)
    )
    for email in (candidate or {}).get("emails") or []:
        value = email.get("value") if isinstance(email, Mapping) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def order_test_id(order: Any) -> str | None:
    package = getattr(order, "package", None) or {}
    remote_id = package.get("remote_id") if isinstance(package, Mapping) else None
    return str(remote_id) if remote_id not in (None, "") else None


def _numeric_id(value: Any, field: str) -> int:
    text = str(value).strip()
    if not text.isdigit():
        from gateway.api.errors import ValidationFailed

        raise ValidationFailed.field(field, "TestDome ids are numbers.")
    return int(text)


class TestDomeConnector(Connector):
    __test__ = False  # not a pytest class, despite the name

    provider = "testdome"
    name = "TestDome"
    role = Role.PROVIDER
    inbound = InboundKind.WEBHOOK_TOKEN
    capabilities = frozenset(
        {
            Capability.LIST_PACKAGES,
            Capability.CREATE_ORDER,
            Capability.CANCEL_ORDER,
            Capability.FETCH_RESULT,
            Capability.HANDLE_WEBHOOK,
        }
    )
    credentials_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "oneOf": [
            {
                "properties": {
                    "email": {"type": "string", "minLength": 3},
                    "api_password": {"type": "string", "minLength": 1},
                },
                "required": ["email", "api_password"],
            },
            {
                "properties": {
                    "client_id": {"type": "string", "minLength": 1},
                    "client_secret": {"type": "string", "minLength": 1},
                },
                "required": ["client_id", "client_secret"],
            },
        ],
        "description": "Either email and api_password, or client_id and client_secret.",
    }
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "api_base_url": {"type": "string", "format": "uri", "default": "https://api.testdome.com/v3"},
            "token_url": {"type": "string", "format": "uri", "default": "https://api.testdome.com/token"},
            "invite_deadline_days": {"type": "integer", "minimum": 1, "maximum": 365, "default": 7},
            "reply_to": {"type": "string", "format": "email"},
        },
    }

    def __init__(
        self,
        *,
        timer: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        # Injectable so that token expiry, deadlines and Retry-After are testable without
        # sleeping; the registry builds it with the defaults.
        self.timer, self.sleep, self.max_retry_after = timer, sleep, max_retry_after

    def client(self, ctx: AccountContext) -> TestDomeClient:
        return TestDomeClient(ctx, timer=self.timer, sleep=self.sleep, max_retry_after=self.max_retry_after)

    # --- inbound --------------------------------------------------------------------------

    def urls(self) -> Sequence[URLPattern | URLResolver]:
        from django.urls import path

        from connectors.testdome.webhooks import webhook_receive

        return [path("webhooks/<str:token>", webhook_receive, name="webhook")]

    def openapi_paths(self) -> dict[str, dict[str, Any]]:
        from connectors.testdome.openapi import PATHS

        return PATHS

    def inbound_urls(self, *, account_id: str, secret: str, public_url: str) -> dict[str, Any]:
        """The URL to paste into TestDome's "Webhook URL" field (one per TestDome account)."""
        return {"webhook_url": f"{public_url}/connectors/{self.provider}/webhooks/{secret}"}

    def handle_webhook(self, account: Any, payload: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        """Accept one webhook as a trigger: drop duplicates, queue the re-read."""
        from connectors.testdome.webhooks import candidate_event_parse, webhook_accept

        event = candidate_event_parse(payload)
        if event is not None:
            correlation = next((v for k, v in headers.items() if k.lower() == "x-testdome-correlationid"), None)
            webhook_accept(account_id=account.id, event=event, correlation_id=correlation)

    # --- packages -------------------------------------------------------------------------

    def list_packages(self, ctx: AccountContext) -> list[RemotePackage]:
        """Published, unarchived tests, every page. The filters are also applied here, in
        case a server ignores one (``isPublished`` is not in the documented TestModel)."""
        tests = self.client(ctx).list_all("/tests", {"$filter[archived]": "false", "$filter[isPublished]": "true"})
        return [
            RemotePackage(
                remote_id=str(test["id"]),
                name=str(test.get("name") or f"Test {test['id']}"),
                description=test.get("description") or None,
            )
            for test in tests
            if test.get("id") is not None and test.get("archived") is not True and test.get("isPublished") is not False
        ]

    # --- orders ---------------------------------------------------------------------------

    def create_order(self, ctx: AccountContext, request: OrderRequest) -> CreatedOrder:
        """Invite by email, then look the new candidate up (the invite answer carries no
        id). If the look-up finds nothing, the order is created without ``remote_id`` and
        the webhook or the reconciliation attaches it later by test and email.

        ``passthrough`` may carry TestDome's own invite fields ``body``, ``replyTo`` and
        ``proctoringEnabled``.
        """
        from gateway.api.errors import ValidationFailed

        test_id = _numeric_id(request.package_remote_id, "package.remote_id")
        email = order_email(request.candidate)
        if email is None:
            raise ValidationFailed.field("candidate.emails", "At least one email is required.")
        extra = dict(request.passthrough or {})
        now = datetime.fromtimestamp(self.timer(), UTC)
        days = int(ctx.settings.get("invite_deadline_days") or DEFAULT_DEADLINE_DAYS)
        deadline = request.deadline or now + timedelta(days=days)
        if deadline <= now:
            raise ValidationFailed.field("deadline", "The deadline must be in the future.")
        reply_to = (
            extra.get("replyTo")
            or ctx.settings.get("reply_to")
            or (request.requester or {}).get("email")
            or ctx.credentials.get("email")
        )
        if not reply_to:
            raise ValidationFailed.field(
                "requester.email",
                "TestDome needs a reply-to address: give requester.email or set the account's reply_to.",
            )
        body = {
            "emails": [email],
            "deadline": deadline.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "body": str(extra.get("body") or self._invitation_text(request)),
            "replyTo": str(reply_to),
            "proctoringEnabled": extra.get("proctoringEnabled") is True,
        }
        client = self.client(ctx)
        answer = client.post(f"/tests/{test_id}/candidates/invite-via-email", body) or {}
        failed = [str(e).strip().lower() for e in answer.get("failedEmails") or []]
        if email.lower() in failed:
            raise TestDomeApiError(
                f"TestDome could not invite the candidate: {answer.get('message') or 'failed email'}",
                status=200,
                codes=["FailedEmails"],
                calls=client.records,
            )
        candidate = self.candidate_find(ctx, str(test_id), email)
        if candidate is None:
            logger.warning("TestDome invite for test %s sent, candidate not found yet", test_id)
            return CreatedOrder(remote_id=None, test_url=None)
        return CreatedOrder(
            remote_id=str(candidate["id"]),
            test_url=mapping.personal_test_url(candidate),
            status=mapping.order_status(candidate) or mapping.OPEN,
        )

    @staticmethod
    def _invitation_text(request: OrderRequest) -> str:
        """The invitation email's text (``body`` is required). UNCONFIRMED: that TestDome
        adds the candidate's test link to it, as sending the email itself implies."""
        first = str(request.candidate.get("first_name") or "").strip()
        job = (request.job or {}).get("title")
        test = f'the test "{request.package_name}"' if request.package_name else "a test"
        role = f" for the position {job}" if job else ""
        return (
            f"Hello{' ' + first if first else ''},\n\nyou are invited to take {test}{role}. "
            "Please use the link in this email before the deadline.\n"
        )

    def cancel_order(self, ctx: AccountContext, order: Any) -> None:
        """Cancel the invitation, then archive the candidate (best effort). A candidate
        already final (409) or gone (404) is fine: there is nothing left to stop."""
        candidate_id = order.remote_id
        if not candidate_id:
            found = self.candidate_for_order(ctx, order)
            candidate_id = found and str(found["id"])
        if not candidate_id:
            return
        client = self.client(ctx)
        try:
            client.post(f"/candidates/{candidate_id}/cancel-invite")
        except TestDomeApiError as exc:
            if exc.status not in (404, 409) and not exc.has_code("CandidateStatusFinal"):
                raise
        try:
            client.post("/candidates/archive", {"candidateIds": [int(candidate_id)]})
        except (ProviderError, ValueError) as exc:
            logger.warning("Archiving TestDome candidate %s failed: %s", candidate_id, exc)

    # --- results --------------------------------------------------------------------------

    def fetch_result(self, ctx: AccountContext, order: Any) -> Mapping[str, Any] | None:
        """The order's state at TestDome (``mapping.candidate_mapped``), or None when its
        candidate cannot be found."""
        candidate = self.candidate_for_order(ctx, order)
        return None if candidate is None else self.candidate_result(ctx, order, candidate)

    def candidate_result(self, ctx: AccountContext, order: Any, candidate: Mapping[str, Any]) -> dict[str, Any]:
        """Map a candidate, with a no-login sharing link created once it finished. The link
        is created once per order: a stored one is reused."""
        share = None
        if mapping.needs_share_url(candidate):
            stored = getattr(order, "result", None)
            stored_url = getattr(stored, "result_url", None)
            share = stored_url if stored_url and stored_url != mapping.report_url(candidate) else None
            if share is None:
                share = self._share_url(ctx, candidate)
        return mapping.candidate_mapped(candidate, result_url=share)

    def _share_url(self, ctx: AccountContext, candidate: Mapping[str, Any]) -> str | None:
        try:
            answer = self.client(ctx).post(f"/candidates/{candidate['id']}/sharing-url")
        except ProviderError as exc:
            logger.warning("TestDome sharing URL for %s failed: %s", candidate.get("id"), exc)
            return None
        url = answer.get("shareUrl") if isinstance(answer, Mapping) else None
        return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None

    # --- candidates -----------------------------------------------------------------------

    def candidate_get(self, ctx: AccountContext, candidate_id: str) -> dict[str, Any] | None:
        """One candidate by its v3 id, or None if TestDome does not know it."""
        if not str(candidate_id).isdigit():
            return None
        try:
            found = self.client(ctx).get(f"/candidates/{candidate_id}", {"$expand": CANDIDATE_EXPAND})
        except TestDomeApiError as exc:
            if exc.status == 404:
                return None
            raise
        return found if isinstance(found, dict) else None

    def candidate_find(self, ctx: AccountContext, test_id: str, email: str) -> dict[str, Any] | None:
        """The newest candidate of ``test_id`` with exactly this email.

        UNCONFIRMED: ``$filter[term]`` matching emails, and ids growing with time ("newest"
        = highest id, since no creation date is documented).
        """
        wanted = email.strip().lower()
        found = self.client(ctx).list_all(
            f"/tests/{test_id}/candidates", {"$filter[term]": wanted}, forward_proxy=False
        )
        matches = [c for c in found if mapping.candidate_email(c) == wanted and str(c.get("id", "")).isdigit()]
        if not matches:
            return None
        newest = max(matches, key=lambda c: int(c["id"]))
        return self.candidate_get(ctx, str(newest["id"])) or newest

    def candidate_for_order(self, ctx: AccountContext, order: Any) -> dict[str, Any] | None:
        """The order's candidate: by ``remote_id``; an order created before its candidate
        could be found (no ``remote_id``) by test and email. An order whose candidate
        vanished is never re-pointed at another candidate with the same email."""
        if order.remote_id:
            return self.candidate_get(ctx, order.remote_id)
        test_id, email = order_test_id(order), order_email(order)
        if test_id is None or email is None or not test_id.isdigit():
            return None
        return self.candidate_find(ctx, test_id, email)
