"""Ashby's shapes and every assumption about Ashby, kept in this one module.

Facts come from Ashby's public developer docs: the assessments guide
(https://developers.ashbyhq.com/docs/creating-an-assessments-integration), the
``assessment.start``/``cancel``/``update`` reference pages and the authentication page
(https://developers.ashbyhq.com/reference/authentication). What no source states is an
assumption, marked ``UNCONFIRMED <n>`` at the one place in this module that relies on it,
so a partner sandbox that shows otherwise changes one spot.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from gateway.sdk import DeliveryOutcome, InboundAuth, OrderStatus, OrderView, ReceivedOrder, ResultValue, ResultView

JSON = dict[str, Any]

PROVIDER = "ashby"
DEFAULT_API_BASE_URL = "https://api.ashbyhq.com"
DEFAULT_CALLBACK_HOSTS = ("api.ashbyhq.com",)
RPC_LIST, RPC_START, RPC_CANCEL = "assessment.list", "assessment.start", "assessment.cancel"  # Ashby calls these
RPC_UPDATE = "assessment.update"  # we call this one
ACCEPT = "application/json; version=1"  # Ashby's versioned media type, on every call to it
# Ashby sits behind Cloudflare, which refuses empty or library-default user agents.
USER_AGENT = "assessment-gateway-ashby/1.0"
DATA_VALUE_TYPES = ("numeric_score", "numeric_duration_minutes", "url", "string", "boolean_success")

# --- how Ashby reaches us -------------------------------------------------------------------

# UNCONFIRMED 1: Ashby presents our key as it asks for its own: HTTP Basic, the key as the
# user name and a blank password; the key in the password field is accepted too. No
# signature. A bad or missing key is a 401 in Ashby's error envelope.
INBOUND_AUTH = InboundAuth.BASIC_KEY
KEY_AS_PASSWORD_OK = True
# UNCONFIRMED 2: the key is per customer (one linked account each), all customers share
# the one base URL given to Ashby at partner onboarding; the key selects the account.
# UNCONFIRMED 6: Ashby waits about 10 s and does not retry, so ``assessment.start`` only
# stores the order; the vendor's work follows through ``assessment.update``.


def partner_urls(public_url: str) -> JSON:
    """``inbound.urls``: the base URL to hand Ashby, and each RPC's URL under it.

    UNCONFIRMED 3: Ashby joins base and RPC name with exactly one ``/``, so the base ends
    with one.
    """
    base = f"{public_url.rstrip('/')}/connectors/{PROVIDER}/"
    return {"base": base, **{rpc: base + rpc for rpc in (RPC_LIST, RPC_START, RPC_CANCEL)}}


def api_url(base_url: str, rpc: str) -> str:
    """An Ashby RPC under the account's ``api_base_url`` (a trailing slash tolerated)."""
    return f"{base_url.rstrip('/')}/{rpc}"


# --- ids --------------------------------------------------------------------------------------

# UNCONFIRMED 4: Ashby may validate that its id fields are UUIDs, so the tenant's test ids
# (free text) and the gateway's order ids (``ord_…``) never reach it as they are: each id
# Ashby sees is a UUIDv5 in a namespace of the account, stable without being stored.
_NAMESPACE = uuid.UUID("6c1f4f43-5a5e-4b9c-9d38-0d6a2f0e7a11")


def _account_namespace(account_id: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, account_id)


def canonical_uuid(value: Any) -> str | None:
    """A UUID in its canonical lower-case form, or None for anything else."""
    try:
        return str(uuid.UUID(str(value)))
    except (TypeError, ValueError, AttributeError):
        return None


def assessment_type_id(account_id: str, package_remote_id: str) -> str:
    """The ``assessment_type_id`` of a published test; the same for as long as its
    ``remote_id`` is, and different in every other account."""
    return str(uuid.uuid5(_account_namespace(account_id), f"type\n{package_remote_id}"))


# UNCONFIRMED 7: Ashby may send the same start again. The same application and assessment
# type mean the same assessment, until it is cancelled (or erased): then a start is a new
# assessment, the next ``attempt``. The ``assessment_id`` is derived from all four, and is
# the order's idempotency key, so it also finds the order again for ``assessment.cancel``.
MAX_ATTEMPTS = 50  # restarts of one application and type before we answer 409


def assessment_id(account_id: str, *, application_id: str, type_id: str, attempt: int) -> str:
    name = json.dumps(["assessment", application_id, type_id, attempt])
    return str(uuid.uuid5(_account_namespace(account_id), name))


def order_source_key(assessment_id: str) -> str:
    return f"assessment:{assessment_id}"


def starts_anew(order: OrderView) -> bool:
    """Whether a start for the same application and type is a new assessment."""
    return order.erased or order.status == OrderStatus.CANCELLED


def order_assessment_id(order: OrderView) -> str | None:
    """The ``assessment_id`` Ashby knows the order by, kept in its passthrough."""
    return canonical_uuid((order.passthrough or {}).get("assessment_id"))


# --- assessment.start → an order ---------------------------------------------------------------

# Ashby's application statuses (its ``application.list`` enum) as the unified values.
APPLICATION_STATUS = {"Active": "active", "Hired": "hired", "Archived": "rejected", "Lead": "lead"}


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _additional_fields(value: Any) -> JSON | None:
    """UNCONFIRMED 5: an object keyed by custom-field id, its values strings (option keys
    for selects, a list of them for multi-selects). Kept as sent; anything else dropped."""
    return dict(value) if isinstance(value, Mapping) and value else None


def _application_status(value: Any) -> JSON | None:
    status = _text(value)
    if status is None:
        return None
    return {"value": APPLICATION_STATUS.get(status, ResultValue.UNMAPPED.value), "source_value": status}


def _role(value: Any) -> str | None:
    role = _text(value)
    return role.lower().replace(" ", "_") if role else None


def _hiring_team(members: Any) -> list[JSON]:
    if not isinstance(members, list):
        return []
    return [
        {
            "remote_user_id": _text(member.get("userId")),
            "first_name": _text(member.get("firstName")),
            "last_name": _text(member.get("lastName")),
            "email": _text(member.get("email")),
            "role": _role(member.get("role")),
        }
        for member in members
        if isinstance(member, Mapping)
    ]


def received_order(body: Mapping[str, Any], *, assessment_id: str, type_id: str) -> ReceivedOrder:
    """The order an ``assessment.start`` asks for. Ashby-only details ride in the
    passthroughs, so an erase removes them with the rest."""
    candidate, application, job = body["candidate"], body["application"], body["job"]
    email = _text(candidate.get("email"))
    job_extra = {"req_id": _text(job.get("req_id")), "ashby_job_url": _text(job.get("ashby_job_url"))}
    passthrough = {"assessment_id": assessment_id, "assessment_type_id": type_id}
    if (fields := _additional_fields(body.get("additional_fields"))) is not None:
        passthrough["additional_fields"] = fields
    return ReceivedOrder(
        candidate={
            "remote_id": _text(candidate.get("ashby_id")),
            "first_name": _text(candidate.get("first_name")),
            "last_name": _text(candidate.get("last_name")),
            "emails": [{"type": None, "value": email}] if email else [],
            "profile_url": _text(candidate.get("ashby_profile_url")),
            "passthrough": None,
        },
        application={
            "remote_id": _text(application.get("ashby_id")),
            "application_status": _application_status(application.get("status")),
            "passthrough": None,
        },
        job={
            "remote_id": _text(job.get("ashby_id")),
            "title": _text(job.get("name")),
            "hiring_team": _hiring_team(job.get("hiringTeam")),
            "passthrough": {key: value for key, value in job_extra.items() if value} or None,
        },
        passthrough=passthrough,
    )


def unknown_type_message() -> str:
    """Shown to the Ashby user by Ashby itself (a 422's ``message``)."""
    return "This assessment is no longer offered. Pick another assessment type in Ashby."


# --- envelopes --------------------------------------------------------------------------------


def success(results: Any) -> JSON:
    return {"success": True, "results": results}


def cancel_not_found(assessment_id: Any, *, request_id: str | None) -> JSON:
    """UNCONFIRMED 13 settled by our contract: an id this account never issued (another
    account's included, so that existence is never revealed) is a 200 ``success: false``
    with the code ``not_found``, not an idempotent success.
    UNCONFIRMED 15: Ashby has no deletion call either way; the tenant's erase stops every
    further update, and Ashby keeps what it was sent."""
    return error_envelope("not_found", f"No assessment {str(assessment_id)[:100]!r} was started here.",
                          request_id=request_id)


ERROR_CODES = {
    400: "invalid_input",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limit_exceeded",
}


def error_envelope(code: str, message: str, *, request_id: str | None = None,
                   errors: Sequence[Mapping[str, Any]] = ()) -> JSON:
    """Ashby's error response: ``errors`` (deprecated by Ashby, still read) and
    ``errorInfo``; field errors, if any, go in ``errorInfo.meta``."""
    info: JSON = {"code": code, "message": message}
    if request_id:
        info["requestId"] = request_id
    if errors:
        info["meta"] = {"errors": [dict(error) for error in errors]}
    return {"success": False, "errors": [message], "errorInfo": info}


def error_body(*, status: int, message: str, errors: Sequence[Mapping[str, Any]], request_id: str | None) -> JSON:
    """Any error on our Ashby endpoints. A 422 is the one status Ashby's spec gives its own
    shape, ``{"message"}``, which Ashby shows its user; the rest is the error envelope."""
    if status == 422:
        return {"message": message}
    code = ERROR_CODES.get(status, "internal_error" if status >= 500 else "error")
    return error_envelope(code, message, request_id=request_id, errors=errors)


# --- an order → assessment.update --------------------------------------------------------------

# No status enum exists; only "Started" has a documented meaning (Ashby stores the start).
STATUS_VALUES = {
    OrderStatus.OPEN: "Pending",
    OrderStatus.IN_PROGRESS: "Started",
    OrderStatus.COMPLETED: "Completed",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.EXPIRED: "Expired",
    OrderStatus.FAILED: "Failed",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def data_value(identifier: str, label: str, type_: str, value: Any, description: str | None = None) -> JSON:
    """Ashby's AssessmentDataValue."""
    item = {"identifier": identifier, "label": label, "type": type_, "value": value}
    if description:
        item["description"] = description
    return item


def _millis(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def update_timestamp(order: OrderView) -> int:
    """UNCONFIRMED 9: Ashby keeps the newest ``timestamp`` per field and may drop older
    ones. Every change saves the order, so its ``updated_at`` (or its result's, if later)
    only grows; an update is built when it is sent, from the newest state, so a retry
    repeats the newest timestamp and never goes back."""
    moments = [order.updated_at]
    if order.result is not None and order.result.updated_at is not None:
        moments.append(order.result.updated_at)
    return max(_millis(moment) for moment in moments)


def _number(value: Any) -> int | float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _http_url(value: Any) -> str | None:
    parts = urlsplit(value) if isinstance(value, str) else None
    return value if parts and parts.scheme in ("http", "https") and parts.netloc else None


def _score_items(score: Mapping[str, Any] | None) -> tuple[JSON | None, list[JSON]]:
    """The score as ``assessment_result`` and the metadata that explains it.

    UNCONFIRMED 12: Ashby's numeric results are on a 0–100 scale. With a known maximum
    the result is the share of it, in percent, and the raw score and maximum travel as
    the ``result-raw`` and ``result-max`` metadata items; without one it is sent as is.
    """
    score = score or {}
    value, top, bottom = _number(score.get("value")), _number(score.get("max")), _number(score.get("min")) or 0
    if value is None:
        return None, []
    if top is None or top <= bottom:
        return data_value("score", "Score", "numeric_score", value), []
    percent = round((value - bottom) * 100 / (top - bottom), 2)
    result = data_value("score", "Score", "numeric_score", _number(percent), "Percent of the maximum score")
    label = _text(score.get("label")) or "Raw Score"
    return result, [
        data_value("result-max", "Max Score", "numeric_score", top, "The maximum possible score for the assessment"),
        data_value("result-raw", label, "numeric_score", value, "The score as the assessment counts it"),
    ]


def _outcome_items(result: ResultView) -> tuple[JSON, list[JSON]]:
    """``assessment_result`` of a final result, and the metadata around it. Without a
    numeric score, pass/fail (or the vendor's word) is the result."""
    passed = {ResultValue.PASSED: True, ResultValue.FAILED: False}.get(result.result_value or "")
    scored, items = _score_items(result.score)
    if scored is None and passed is not None:
        return data_value("passed", "Passed", "boolean_success", passed), items
    if passed is not None:
        items.append(data_value("passed", "Passed", "boolean_success", passed))
    if scored is None:
        scored = data_value("result", "Result", "string", result.result_source_value or "Completed")
    return scored, items


def _detail_items(result: ResultView) -> list[JSON]:
    items = []
    if result.start_date and result.submission_date and result.submission_date >= result.start_date:
        minutes = round((result.submission_date - result.start_date).total_seconds() / 60)
        items.append(data_value("duration", "Time taken", "numeric_duration_minutes", minutes))
    if summary := _text(result.summary):
        items.append(data_value("summary", "Summary", "string", summary))
    urls = [_http_url(item.get("url")) for item in result.attachments or () if isinstance(item, Mapping)]
    for number, url in enumerate(filter(None, urls), start=1):
        items.append(data_value(f"attachment-{number}", f"Attachment {number}", "url", url))
    return items


def _cancelled_reason(order: OrderView) -> JSON | None:
    """UNCONFIRMED 11: an expired assessment is reported as cancelled, with the reason
    "Expired" (Ashby has no field for it). A cancellation the vendor reported carries its
    words; one without them came from Ashby (``assessment.cancel``)."""
    if order.status == OrderStatus.EXPIRED:
        return data_value("cancelled_reason", "Cancelled", "string", "Expired")
    if order.status != OrderStatus.CANCELLED:
        return None
    result = order.result
    if result is not None and result.result_value == ResultValue.CANCELLED:
        reason = _text(result.summary) or _text(result.result_source_value) or "Cancelled by the assessment vendor"
    else:
        reason = "Cancelled in Ashby"
    return data_value("cancelled_reason", "Cancelled", "string", reason)


def update_body(order: OrderView, *, assessment_id: str) -> JSON:
    """The ``assessment.update`` body for the order's current state.

    Once the result is final it carries ``assessment_result``, which tells Ashby the
    assessment is complete, with ``assessment_profile_url`` (Ashby requires it then: the
    result's URL, else the test's). Without any URL the result cannot be sent, and the
    status alone says "Completed". UNCONFIRMED 10: a corrected result may follow an
    earlier one, but nothing but the cancellation follows a cancellation, so closed
    cancelled orders send only their reason.
    """
    body: JSON = {
        "assessment_id": assessment_id,
        "timestamp": update_timestamp(order),
        "assessment_status": data_value("status", "Status", "string", STATUS_VALUES.get(order.status, order.status)),
    }
    metadata: list[JSON] = []
    reason = _cancelled_reason(order)
    result = order.result
    if reason is not None:
        body["cancelled_reason"] = reason
    elif result is not None and result.is_final:
        profile_url = _http_url(result.result_url) or _http_url(order.test_url)
        if profile_url is not None:
            outcome, metadata = _outcome_items(result)
            body["assessment_result"] = outcome
            body["assessment_profile_url"] = data_value("report", "Report", "url", profile_url)
    if result is not None and reason is None:
        metadata += _detail_items(result)
    if metadata:
        body["metadata"] = metadata
    return body


# --- Ashby's answers ----------------------------------------------------------------------------

# Codes of Ashby's error envelope that mean the key is not good enough: the account's
# credentials need attention, and retrying cannot help.
ACCOUNT_ERROR_CODES = frozenset({"missing_endpoint_permission"})
# UNCONFIRMED 14: no rate limit is documented for assessment.update; one that answers in
# the envelope is waited out like a 429.
RETRY_CODES = frozenset({"rate_limit_exceeded"})


def envelope_error(body: Any) -> tuple[str, str] | None:
    """``(code, message)`` of an answer with ``success: false``; None otherwise."""
    if not isinstance(body, Mapping) or body.get("success") is not False:
        return None
    info = body.get("errorInfo") if isinstance(body.get("errorInfo"), Mapping) else {}
    listed = body.get("errors") if isinstance(body.get("errors"), list) else []
    code = _text(info.get("code")) or (_text(listed[0]) if listed else None) or "unknown_error"
    return code, _text(info.get("message")) or code


def update_outcome(status: int, body: Any) -> DeliveryOutcome:
    """UNCONFIRMED 8: Ashby's answer to an update is ``{"success": true}`` or empty; any
    2xx is delivered unless it says ``success: false``. Then input errors are final (the
    same state would be refused again), a rate limit is retried, and a key without the
    permission puts the account in error."""
    error = envelope_error(body)
    if error is None:
        return DeliveryOutcome()
    code, message = error
    text = f"Ashby refused the update: {code}: {message}"
    if code in ACCOUNT_ERROR_CODES:
        return DeliveryOutcome(error=text, retry=False, account_error=True)
    return DeliveryOutcome(error=text, retry=code in RETRY_CODES)


# UNCONFIRMED (the account check; not in Ashby's docs): the cheapest call that proves the
# key and its ``candidatesWrite`` permission is ``assessment.update`` with an empty body.
# Ashby authenticates and authorises before it reads a body, so a good key is answered
# ``invalid_input`` and nothing changes; a bad key is a 401 or 403, a key without the
# permission ``missing_endpoint_permission``.
CHECK_RPC, CHECK_BODY = RPC_UPDATE, {}
CHECK_ACCEPTED_CODES = frozenset({"invalid_input"})


def check_problem(status: int, body: Any) -> tuple[str, bool] | None:
    """Why the check failed, and whether the account's key is to blame; None: it passed."""
    error = envelope_error(body)
    code = error[0] if error else None
    if status in (401, 403) or code in ACCOUNT_ERROR_CODES:
        detail = f" ({code})" if code else ""
        return f"Ashby refused the API key: HTTP {status}{detail}", True
    if 200 <= status < 300 or (status in (400, 422) and code in CHECK_ACCEPTED_CODES):
        return None
    return f"Ashby answered HTTP {status}" + (f" ({code})" if code else ""), False
