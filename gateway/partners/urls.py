"""The partner routes of every registered connector, under ``/connectors/<provider>/``,
each named ``<provider>:<endpoint name>`` (the webhook route: ``<provider>:webhook``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from django.urls import URLPattern, include, path

from gateway.partners.views import endpoint_view, webhook_view
from gateway.registry import registry
from gateway.sdk import Capability, Connector, Endpoint

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def django_route(declared: str) -> str:
    """``results/{invitationId}`` → ``results/<str:invitationId>``."""
    return _PLACEHOLDER.sub(lambda match: f"<str:{match.group(1)}>", declared)


def _patterns(connector: Connector) -> Iterator[URLPattern]:
    by_path: dict[str, list[Endpoint]] = {}
    for endpoint in connector.endpoints():
        by_path.setdefault(endpoint.path, []).append(endpoint)
    for declared, endpoints in by_path.items():
        view = endpoint_view(connector, endpoints)
        for endpoint in endpoints:
            yield path(django_route(declared), view, name=endpoint.name)
    if connector.supports(Capability.HANDLE_WEBHOOK):
        yield path("webhooks/<str:token>", webhook_view(connector), name="webhook")


def mounted_patterns(connectors: Iterable[Connector]) -> list:
    mounted = []
    for connector in connectors:
        patterns = list(_patterns(connector))
        if patterns:
            mounted.append(path(f"connectors/{connector.provider}/", include((patterns, connector.provider))))
    return mounted


def partner_urlpatterns() -> list:
    """The routes of the registry active when the URLconf loads (start-up)."""
    return mounted_patterns(registry().all())
