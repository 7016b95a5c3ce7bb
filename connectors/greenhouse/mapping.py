"""Greenhouse JSON <-> the gateway's unified shapes, and the one place for protocol guesses.

Every behaviour below that rests on something Greenhouse does not document (Assessment
API: https://developers.greenhouse.io/assessment.html) carries an ``UNCONFIRMED``
comment, so that a sandbox finding changes one line here rather than a hunt through the
connector. Nothing in this module does I/O: the endpoint handlers, ``deliver_result`` and
the Harvest enrichment all call these pure functions on the SDK's values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard
from urllib.parse import parse_qs, urlsplit

from gateway.sdk import OrderStatus, OrderView, ReceivedOrder, ResultValue, ResultView

JSON = dict[str, Any]

# Where the guesses are (each is marked UNCONFIRMED again where it is used):
#   source_key                  send_test may repeat; ``url`` identifies one sent test
#   _PROFILE_PATH               the profile URL's form, the only carrier of Greenhouse ids
#   PENDING_STATUSES            free-form non-complete statuses, never shown (we think)
#   PERCENT_DECIMALS            partner_score as an integer percentage of the vendor's range
#   METADATA_TEXT_LIMIT         no documented limit on metadata values
#   RESULT_PATCH_METHOD         the PATCH carries the org key (our inbound key) as Basic user
#   DEFAULT_CALLBACK_HOSTS      *.greenhouse.io; other regional hosts are unknown
#   list_tests with no tests    an empty array (the picker is then empty, presumably)
# The Content-Type of Greenhouse's bodies is not documented either; the core accepts a
# missing one and any JSON type.

# --- send_test -----------------------------------------------------------------------------

# UNCONFIRMED as a stable contract: the profile URL has the form
# ``https://app.greenhouse.io/people/{candidate_id}?application_id={application_id}``. It is
# the only place a send_test carries Greenhouse ids, so we parse it when it has that path
# and query, on any host (regional hosts are UNCONFIRMED too), and keep None otherwise.
_PROFILE_PATH = re.compile(r"^/people/(\d{1,20})/?$")
_NUMERIC_ID = re.compile(r"^\d{1,20}$")


@dataclass(frozen=True)
class SendTest:
    """The parts of a ``send_test`` body the gateway uses; unknown fields are ignored."""

    partner_test_id: str
    url: str
    first_name: str
    last_name: str
    email: str
    preferred_name: str | None
    phone_number: str | None
    resume_url: str | None
    profile_url: str | None
    sent_by: str | None


def _stripped(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value.strip() or None if isinstance(value, str) else None


def parse_send_test(payload: Mapping[str, Any]) -> SendTest:
    """Read a ``send_test`` body that passed ``schemas.SEND_TEST_REQUEST``: candidate
    fields are nested under ``candidate``; ``url`` and ``sent_by`` are top-level.

    ``greenhouse_profile_url`` is documented as required but only links back, so a
    missing one costs the link, not the order; ``preferred_name`` is newer than most
    integrations and treated as nullable. Surrounding blanks are dropped.
    """
    candidate = payload["candidate"]
    return SendTest(
        partner_test_id=payload["partner_test_id"].strip(),
        url=payload["url"].strip(),
        first_name=candidate["first_name"].strip(),
        last_name=candidate["last_name"].strip(),
        email=candidate["email"].strip(),
        preferred_name=_stripped(candidate, "preferred_name"),
        phone_number=_stripped(candidate, "phone_number"),
        resume_url=_stripped(candidate, "resume_url"),
        profile_url=_stripped(candidate, "greenhouse_profile_url"),
        sent_by=_stripped(payload, "sent_by"),
    )


def profile_ids(profile_url: str | None) -> tuple[str | None, str | None]:
    """(Greenhouse candidate id, application id) from the profile URL, when it has the
    documented form (see the UNCONFIRMED note on ``_PROFILE_PATH``)."""
    if not profile_url:
        return None, None
    try:
        parts = urlsplit(profile_url)
    except ValueError:
        return None, None
    match = _PROFILE_PATH.match(parts.path)
    if parts.scheme not in ("http", "https") or match is None:
        return None, None
    application_ids = parse_qs(parts.query).get("application_id", [])
    application_id = application_ids[0] if len(application_ids) == 1 else None
    if application_id is not None and not _NUMERIC_ID.match(application_id):
        application_id = None
    return match.group(1), application_id


def source_key(request: SendTest) -> str:
    """The idempotency key of a ``send_test``.

    UNCONFIRMED: whether Greenhouse retries ``send_test`` or sends the same request twice
    is not documented. We assume it may, and that ``url`` is unique per Greenhouse
    take-home test, so the same ``url`` means the same interview.
    """
    return request.url


def received_order(request: SendTest, *, callback_hosts: Sequence[str]) -> ReceivedOrder:
    """The order a ``send_test`` asks for.

    Greenhouse-only candidate details (preferred name, phone, the 7-day resume link) ride in
    ``candidate.passthrough``, so a GDPR erase removes them with the rest of the candidate.
    ``url`` is where the result PATCH goes; the core refuses it unless its host matches
    ``callback_hosts``.
    """
    candidate_id, application_id = profile_ids(request.profile_url)
    passthrough = {
        key: value
        for key, value in (
            ("preferred_name", request.preferred_name),
            ("phone_number", request.phone_number),
            ("resume_url", request.resume_url),
        )
        if value is not None
    }
    return ReceivedOrder(
        candidate={
            "remote_id": candidate_id,
            "first_name": request.first_name,
            "last_name": request.last_name,
            "emails": [{"type": "personal", "value": request.email}],
            "profile_url": request.profile_url,
            "passthrough": passthrough or None,
        },
        application={"remote_id": application_id} if application_id else None,
        requester={"email": request.sent_by} if request.sent_by else None,
        callback_url=request.url,
        callback_field="url",
        callback_hosts=tuple(callback_hosts),
    )


# --- test_status -----------------------------------------------------------------------------

COMPLETE = "complete"  # the only value Greenhouse acts on, exactly so
# Free-form values for everything else. UNCONFIRMED whether Greenhouse shows them anywhere.
PENDING_STATUSES = {
    OrderStatus.OPEN: "open",
    OrderStatus.IN_PROGRESS: "in_progress",
    OrderStatus.COMPLETED: "in_progress",  # completed but not reportable yet (see is_reportable)
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.EXPIRED: "expired",
    OrderStatus.FAILED: "error",
}
# A final result lacking the profile URL or a numeric score cannot be reported as complete:
# Greenhouse requires the URL (documented) and the contract and our simulator require the
# score (CONTRACT §4.1); the status says what is missing instead.
AWAITING_DETAILS = "awaiting_result_details"

# UNCONFIRMED: no range is documented for ``partner_score``; an integer
# percentage is conventional. When the vendor gives both ``min`` and ``max`` we report the
# percentage of that range, rounded to ``PERCENT_DECIMALS``; without them, the value as
# written (so "87", "87%" and 87 all give 87). Out-of-range values are not clamped: hiding
# a vendor's mistake would make it harder to see.
PERCENT_DECIMALS = 0
_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*%?\s*$")

METADATA_TEXT_LIMIT = 1000  # UNCONFIRMED: Greenhouse documents no limit on metadata values


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return Decimal(str(value)) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    match = _NUMBER.match(value)
    if match is None:
        return None
    try:
        return Decimal(match.group(1))
    except InvalidOperation:
        return None


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def partner_score(score: Mapping[str, Any] | None) -> int | float | None:
    """The numeric ``partner_score`` for a unified score ``{label, value, min, max}``."""
    if not score:
        return None
    value = _number(score.get("value"))
    if value is None:
        return None
    low, high = _number(score.get("min")), _number(score.get("max"))
    if low is not None and high is not None and high > low:
        percent = (value - low) / (high - low) * 100
        return _json_number(round(percent, PERCENT_DECIMALS))
    return _json_number(value)


def is_final(result: ResultView | None) -> TypeGuard[ResultView]:
    return result is not None and result.is_final


def is_reportable(result: ResultView | None) -> TypeGuard[ResultView]:
    """Whether ``test_status`` can say ``complete`` (and so whether a PATCH is worth sending):
    a final result with a profile URL and a numeric score."""
    return is_final(result) and bool(result.result_url) and partner_score(result.score) is not None


def _when(value: Any) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return value if len(value) <= METADATA_TEXT_LIMIT else value[: METADATA_TEXT_LIMIT - 1] + "…"


def metadata(order: OrderView, result: ResultView) -> JSON:
    """A flat object of strings, numbers and booleans: keys are labels Greenhouse shows as
    they are, so they are written for recruiters. Empty values are left out, not null."""
    score = result.score or {}
    items: list[tuple[str, Any]] = [
        ("Test", _text((order.package or {}).get("name"))),
        ("Result", result.result_value),
        ("Result (vendor)", _text(result.result_source_value)),
        ("Passed", {ResultValue.PASSED: True, ResultValue.FAILED: False}.get(result.result_value or "")),
        ("Score", _text(score.get("value"))),
        ("Score label", _text(score.get("label"))),
        ("Min score", _text(score.get("min"))),
        ("Max score", _text(score.get("max"))),
        ("Started", _when(result.start_date)),
        ("Submitted", _when(result.submission_date)),
        ("Summary", _text(result.summary)),
    ]
    return {label: value for label, value in items if value is not None}


def test_status_body(order: OrderView, result: ResultView | None) -> JSON:
    """The ``test_status`` answer: all four keys, always (nulls while not complete)."""
    if is_reportable(result):
        return {
            "partner_status": COMPLETE,
            "partner_profile_url": result.result_url,
            "partner_score": partner_score(result.score),
            "metadata": metadata(order, result),
        }
    status = AWAITING_DETAILS if is_final(result) else PENDING_STATUSES.get(order.status, "open")
    return {"partner_status": status, "partner_profile_url": None, "partner_score": None, "metadata": None}


# --- result PATCH ----------------------------------------------------------------------------

# UNCONFIRMED: the docs' PATCH example carries the same Basic credential as Greenhouse's
# calls to us, i.e. the org key (our inbound key) as user, empty password.
RESULT_PATCH_METHOD = "PATCH"
DEFAULT_CALLBACK_HOSTS = ("*.greenhouse.io",)  # UNCONFIRMED: regional hosts; configurable

# --- response_error --------------------------------------------------------------------------

_REPORT_CONTEXT = ("partner_test_id", "partner_test_name", "partner_interview_id", "candidate_email")
MAX_REPORT_ERRORS = 50
MAX_REPORT_TEXT = 2000


def _clip(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:MAX_REPORT_TEXT]


def parse_response_error(payload: Mapping[str, Any]) -> JSON:
    """Normalise a ``response_error`` report (any JSON object) for the event payload.

    It is the only feedback channel Greenhouse has, so a report with an unexpected shape
    is kept as best we can rather than refused: every value becomes text.
    """
    errors = payload.get("errors")
    if not isinstance(errors, list):
        errors = [] if errors is None else [errors]
    report: JSON = {
        "api_call": _clip(payload.get("api_call")),
        "errors": [_clip(error) for error in errors[:MAX_REPORT_ERRORS] if error is not None],
    }
    report.update({key: _clip(payload.get(key)) for key in _REPORT_CONTEXT})
    return report


# --- Harvest enrichment ----------------------------------------------------------------------

# Harvest application statuses onto StackOne's application_status values.
APPLICATION_STATUS = {
    "active": "active",
    "rejected": "rejected",
    "hired": "hired",
    "converted": "converted",
}
_HIRING_TEAM_ROLES = (
    ("hiring_managers", "hiring_manager"),
    ("recruiters", "recruiter"),
    ("coordinators", "coordinator"),
    ("sourcers", "sourcer"),
)


def application_status(harvest_application: Mapping[str, Any]) -> JSON | None:
    status = harvest_application.get("status")
    if not isinstance(status, str):
        return None
    return {"value": APPLICATION_STATUS.get(status, "unmapped_value"), "source_value": status}


def _id(value: Any) -> str | None:
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None


def hiring_team(harvest_job: Mapping[str, Any]) -> list[JSON]:
    """Greenhouse's ``hiring_team`` object as the unified list of people with a role."""
    team = harvest_job.get("hiring_team")
    if not isinstance(team, dict):
        return []
    people = []
    for key, role in _HIRING_TEAM_ROLES:
        for member in team.get(key) or []:
            if not isinstance(member, dict):
                continue
            people.append(
                {
                    "user_id": None,
                    "remote_user_id": _id(member.get("user_id", member.get("id"))),
                    "first_name": member.get("first_name"),
                    "last_name": member.get("last_name"),
                    "email": member.get("email"),
                    "role": role,
                }
            )
    return people


def job_from_harvest(harvest_job: Mapping[str, Any]) -> JSON:
    return {
        "remote_id": _id(harvest_job.get("id")),
        "title": harvest_job.get("name"),
        "hiring_team": hiring_team(harvest_job),
    }


def application_job_id(harvest_application: Mapping[str, Any]) -> str | None:
    """The job of a candidate application (exactly one; prospects may have none or many)."""
    jobs = harvest_application.get("jobs")
    if isinstance(jobs, list) and len(jobs) == 1 and isinstance(jobs[0], dict):
        return _id(jobs[0].get("id"))
    return None
