"""Quizly's states and scores in the unified terms (no gateway needed)."""

from __future__ import annotations

from quizly_connector.mapping import provider_state

from gateway.sdk import OrderStatus, ResultValue

FINISHED = {
    "id": "inv_1", "state": "finished", "score": 85.0, "max_score": 100, "passed": True,
    "report_url": "https://quizly.example/reports/inv_1", "url": "https://quizly.example/take/inv_1",
    "started_at": "2026-03-02T14:05:00Z", "finished_at": "2026-03-02T14:49:00Z",
}


def test_a_finished_invitation_is_a_completed_order_with_its_score() -> None:
    state = provider_state(FINISHED)
    assert state.status == OrderStatus.COMPLETED and state.remote_id == "inv_1"
    assert state.result is not None
    assert state.result.result_value == ResultValue.PASSED and state.result.result_source_value == "finished"
    assert state.result.score == {"label": "Score", "value": "85", "min": "0", "max": "100"}
    assert state.result.submission_date is not None and state.result.submission_date.tzinfo is not None


def test_pass_fail_and_unknown_states() -> None:
    assert provider_state({**FINISHED, "passed": False}).result.result_value == ResultValue.FAILED
    assert provider_state({**FINISHED, "passed": None}).result.result_value == ResultValue.COMPLETED
    pending = provider_state({"id": "inv_2", "state": "sent", "score": None})
    assert pending.status == OrderStatus.OPEN and pending.result.score is None
    odd = provider_state({"id": "inv_3", "state": "paused"})
    assert odd.status is None
    assert (odd.result.result_value, odd.result.result_source_value) == (ResultValue.UNMAPPED, "paused")
