"""softgarden's JSON to and from the unified model: the one place that knows both shapes.

softgarden's public docs (https://dev.softgarden.de/assessment-api/) leave much unsaid.
Every assumption they do not confirm is marked ``UNCONFIRMED`` here, with the reading
chosen, so that an answer from softgarden changes this file and nothing else.

Optional fields are omitted rather than sent as ``null``: softgarden's deserialiser is
unknown, and omission is accepted by a lenient one and a strict one alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from gateway.sdk import OrderStatus, OrderView, PackageView, ReceivedOrder, ResultView

PENDING, COMPLETED, EXPIRED = "PENDING", "COMPLETED", "EXPIRED"
MAX_ID_LENGTH = 255
MAX_CALLBACK_LENGTH = 2000  # the URL columns of the gateway hold at most this much
DEFAULT_CALLBACK_HOSTS: tuple[str, ...] = ("*.softgarden.io", "*.softgarden.de")

# UNCONFIRMED (a gateway decision): softgarden knows only three statuses. Whatever
# cannot end in a result any more (cancelled, failed) is EXPIRED, the only closed state
# without a score; everything still running is PENDING.
_STATUS_FOR_ORDER: dict[str, str] = {
    OrderStatus.OPEN: PENDING,
    OrderStatus.IN_PROGRESS: PENDING,
    OrderStatus.COMPLETED: COMPLETED,
    OrderStatus.EXPIRED: EXPIRED,
    OrderStatus.CANCELLED: EXPIRED,
    OrderStatus.FAILED: EXPIRED,
}

_PDF = "application/pdf"


def callback_hosts(settings: Mapping[str, Any]) -> list[str]:
    """The account's allowed callback hosts; the default if the setting is absent
    (accounts linked before the setting existed). An explicit empty list allows none."""
    hosts = settings.get("callback_hosts")
    if hosts is None:
        return list(DEFAULT_CALLBACK_HOSTS)
    return [host for host in hosts if isinstance(host, str)]


# --- inbound: the invitation ---------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    test_id: str
    candidate_id: str  # softgarden's application public id, not a person id
    first_name: str | None
    last_name: str | None
    email: str | None
    callback_url: str


class InvitationInvalid(Exception):
    """The body cannot be an invitation; ``errors`` name the fields, as the contract does."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def _identifier(value: Any, field: str, errors: list[dict[str, str]]) -> str:
    # IDs are strings in the protocol; a number is accepted as the same id written as a
    # string, since being strict here would only fail a real invitation.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        errors.append({"field": field, "message": "Required: a non-empty string."})
        return ""
    if len(value) > MAX_ID_LENGTH:
        errors.append({"field": field, "message": f"At most {MAX_ID_LENGTH} characters."})
    return value


def _optional_text(value: Any, field: str, errors: list[dict[str, str]]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        errors.append({"field": field, "message": "Must be a string."})
        return None
    return value.strip()


def invitation_parse(body: Any) -> Invitation:
    """Read ``{"testId", "candidate": {"id", "firstName", "lastName", "email"}, "callback"}``.

    The endpoint's request schema already refused wrong types; this also catches what a
    schema cannot say (blank ids) and is safe on any input. UNCONFIRMED: the docs mark no
    field optional. ``testId``, ``candidate.id`` (the idempotency key) and ``callback``
    (without it no result could ever reach softgarden) are required; the name and e-mail
    are taken when present, since refusing an invitation over a missing name helps
    nobody. Unknown fields are ignored.
    """
    errors: list[dict[str, str]] = []
    if not isinstance(body, dict):
        raise InvitationInvalid([{"field": "", "message": "The body must be a JSON object."}])
    test_id = _identifier(body.get("testId"), "testId", errors)
    candidate = body.get("candidate")
    if isinstance(candidate, dict):
        candidate_id = _identifier(candidate.get("id"), "candidate.id", errors)
    else:
        errors.append({"field": "candidate", "message": "Required: an object."})
        candidate, candidate_id = {}, ""
    names = {
        key: _optional_text(candidate.get(key), f"candidate.{key}", errors)
        for key in ("firstName", "lastName", "email")
    }
    callback = body.get("callback")
    if not isinstance(callback, str) or not callback.strip():
        errors.append({"field": "callback", "message": "Required: an absolute http(s) URL."})
        callback = ""
    if errors:
        raise InvitationInvalid(errors)
    return Invitation(
        test_id=test_id,
        candidate_id=candidate_id,
        first_name=names["firstName"],
        last_name=names["lastName"],
        email=names["email"],
        callback_url=callback.strip(),
    )


def invitation_source_key(invitation: Invitation) -> str:
    """The idempotency key for (``candidate.id``, ``testId``); the gateway stores only a
    keyed digest of it, so it holds no personal data."""
    return json.dumps([invitation.test_id, invitation.candidate_id])


def received_order(invitation: Invitation, *, hosts: Sequence[str]) -> ReceivedOrder:
    """The unified order. softgarden's ``candidate.id`` identifies the *application*
    (one person may apply several times), so it becomes ``application.remote_id`` and
    the candidate has no ``remote_id``. softgarden needs a test link in its very answer,
    before the vendor has one: hence the gateway's candidate link."""
    return ReceivedOrder(
        candidate={
            "id": None,
            "remote_id": None,
            "first_name": invitation.first_name,
            "last_name": invitation.last_name,
            "emails": [{"type": None, "value": invitation.email}] if invitation.email else [],
            "profile_url": None,
            "passthrough": None,
        },
        application={
            "id": None,
            "remote_id": invitation.candidate_id,
            "application_status": None,
            "passthrough": None,
        },
        callback_url=invitation.callback_url,
        callback_field="callback",
        callback_hosts=tuple(hosts),
        candidate_link=True,
    )


# --- outbound: what softgarden reads ---------------------------------------------------------


def timestamp(value: datetime) -> str:
    """``2021-03-26T10:00:00Z``. UNCONFIRMED: fractions of a second are not in any
    example, so they are dropped rather than risked."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tests_payload(packages: Iterable[PackageView]) -> list[dict[str, str]]:
    """UNCONFIRMED (softgarden's "get tests" page was never found): a bare array of
    ``{"id", "name"}``, with nothing extra in case softgarden deserialises strictly."""
    return [{"id": package.remote_id, "name": package.name} for package in packages]


def invitation_payload(order: OrderView, *, link_url: str) -> dict[str, Any]:
    """``testUrl`` is the vendor's link once known, else our candidate link, which
    forwards there when it is set.

    ``duration`` is omitted: neither the catalog nor the order knows a test's length.
    """
    payload: dict[str, Any] = {"invitationId": order.id, "testUrl": order.test_url or link_url}
    if order.deadline is not None:
        payload["deadline"] = timestamp(order.deadline)
    return payload


def softgarden_status(order: OrderView) -> str:
    return _STATUS_FOR_ORDER.get(order.status, PENDING)


def _http_url(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def score_text(score: Mapping[str, Any] | None) -> str | None:
    """The score as softgarden shows it: free text, shown as-is.

    UNCONFIRMED presentation: the tenant's ``score.value`` verbatim (``"78"``); a tenant
    who wants ``"78%"`` or ``"78/100"`` sends that as the value.
    """
    if not isinstance(score, Mapping):
        return None
    value = score.get("value")
    if value is None or str(value).strip() == "":
        return None
    return str(value)


def report_url(result: ResultView) -> str | None:
    """A PDF report online: the tenant's ``passthrough.report_url``, else its first PDF
    attachment. UNCONFIRMED: the unified result has no report field; this is our rule."""
    explicit = _http_url((result.passthrough or {}).get("report_url"))
    if explicit:
        return explicit
    for attachment in result.attachments or []:
        content_type = (attachment or {}).get("content_type") or {}
        kinds = {str(content_type.get("value") or "").lower(), str(content_type.get("source_value") or "").lower()}
        url = _http_url((attachment or {}).get("url"))
        if url and (_PDF in kinds or url.lower().split("?")[0].endswith(".pdf")):
            return url
    return None


def share_url(result: ResultView) -> str | None:
    """A link that works without a login: the tenant's ``passthrough.share_url``, the
    unified result having no such field."""
    return _http_url((result.passthrough or {}).get("share_url"))


def _completion_time(order: OrderView, result: ResultView | None) -> datetime:
    # UNCONFIRMED: softgarden requires completionTime with COMPLETED; a vendor that did
    # not report submission_date gets the time the gateway learned of the result.
    if result is not None:
        return result.submission_date or result.updated_at or order.updated_at
    return order.updated_at


def _expiration_time(order: OrderView, result: ResultView | None) -> datetime:
    # UNCONFIRMED: the deadline when there was one; otherwise (a cancellation) the time
    # the order closed ("cancel time, or now").
    if order.deadline is not None:
        return order.deadline
    return (result.updated_at if result is not None else None) or order.updated_at


def result_payload(order: OrderView, result: ResultView | None, *, link_url: str) -> dict[str, Any]:
    """The result endpoint's answer: status, the timestamp that status needs, and a
    ``result`` object that is always there with a ``resultUrl``.

    UNCONFIRMED: while nothing is reported yet, ``resultUrl`` is our candidate link; a
    score is only sent with COMPLETED, so a provisional value is never shown as final.
    """
    status = softgarden_status(order)
    payload: dict[str, Any] = {"status": status}
    if status == COMPLETED:
        payload["completionTime"] = timestamp(_completion_time(order, result))
    elif status == EXPIRED:
        payload["expirationTime"] = timestamp(_expiration_time(order, result))

    reported_url = _http_url(result.result_url) if result is not None else None
    details: dict[str, Any] = {"resultUrl": reported_url or link_url}
    if result is not None:
        for key, value in (("reportUrl", report_url(result)), ("shareUrl", share_url(result))):
            if value:
                details[key] = value
        score = score_text(result.score) if status == COMPLETED else None
        if score is not None:
            details["score"] = score
    payload["result"] = details
    return payload
