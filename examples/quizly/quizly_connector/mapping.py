"""Quizly's words in the unified terms: the one place that knows both vocabularies.

Quizly's protocol (its invitation object and its webhook) is documented in
``docs/connectors.md`` of the gateway's repository, where this example lives.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gateway.sdk import OrderStatus, ProviderState, RemotePackage, ResultData, ResultValue

# invitation.state → the order's status
ORDER_STATUS = {
    "sent": OrderStatus.OPEN,
    "started": OrderStatus.IN_PROGRESS,
    "finished": OrderStatus.COMPLETED,
    "expired": OrderStatus.EXPIRED,
    "cancelled": OrderStatus.CANCELLED,
}
# invitation.state → the result's value, where the state alone decides it
RESULT_VALUE = {
    "sent": ResultValue.INITIATED,
    "started": ResultValue.IN_PROGRESS,
    "expired": ResultValue.EXPIRED,
    "cancelled": ResultValue.CANCELLED,
}


def package(quiz: Mapping[str, Any]) -> RemotePackage:
    return RemotePackage(remote_id=str(quiz["id"]), name=str(quiz.get("title") or quiz["id"]),
                         description=quiz.get("summary"), type="quiz")


def _number(value: Any) -> str | None:
    """A score part as the unified shape writes it: a string, ``85`` rather than ``85.0``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def result_value(invitation: Mapping[str, Any]) -> str:
    state = invitation.get("state")
    if state == "finished":
        passed = invitation.get("passed")
        return ResultValue.COMPLETED if passed is None else (ResultValue.PASSED if passed else ResultValue.FAILED)
    return RESULT_VALUE.get(state, ResultValue.UNMAPPED)  # type: ignore[arg-type]


def provider_state(invitation: Mapping[str, Any]) -> ProviderState:
    """An invitation as the order's state; an unknown ``state`` keeps the status and says
    ``unmapped_value`` with Quizly's own word."""
    score = None
    if _number(invitation.get("score")) is not None:
        score = {"label": "Score", "value": _number(invitation["score"]), "min": "0",
                 "max": _number(invitation.get("max_score"))}
    result = ResultData(
        result_value=result_value(invitation),
        result_source_value=str(invitation.get("state")),
        score=score,
        result_url=invitation.get("report_url"),
        start_date=_time(invitation.get("started_at")),
        submission_date=_time(invitation.get("finished_at")),
    )
    return ProviderState(status=ORDER_STATUS.get(invitation.get("state")),  # type: ignore[arg-type]
                         remote_id=str(invitation["id"]), test_url=invitation.get("url"), result=result)
