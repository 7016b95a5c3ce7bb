"""The names of the connector tasks, and the beat entries built from the connectors'
declarations (reconciliation, periodic jobs): no connector is named in the settings, so
a pip-installed connector is scheduled exactly like a built-in one."""

from __future__ import annotations

from typing import Any

from gateway.registry import registry

WEBHOOK_TASK = "connectors.webhook_process"
RECONCILE_TASK = "connectors.reconcile"
JOB_TASK = "connectors.job"
PERIODIC_TASK = "connectors.periodic"


def connector_beat_schedule() -> dict[str, dict[str, Any]]:
    """Beat entries from the connectors' declarations: reconciliation and periodic jobs."""
    schedule: dict[str, dict[str, Any]] = {}
    for connector in registry().all():
        if connector.reconcile_every:
            schedule[f"{connector.provider}-reconcile"] = {
                "task": RECONCILE_TASK, "schedule": float(connector.reconcile_every), "args": (connector.provider,),
            }
        for periodic in connector.periodic:
            schedule[f"{connector.provider}-{periodic.name}"] = {
                "task": PERIODIC_TASK, "schedule": float(periodic.every), "args": (connector.provider, periodic.name),
            }
    return schedule
