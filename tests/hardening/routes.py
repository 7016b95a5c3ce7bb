"""Every route the gateway mounts, with the methods it serves, read from the URLconf
itself so that a new endpoint cannot be forgotten by the hardening tests.

Class-based views say which methods they serve. Function views (Greenhouse's partner
endpoints, TestDome's webhook) check the method before anything else, so they are
probed: a method that does not answer 405 is served.
"""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
# The admin is Django's, tested as a whole by test_deploy (login required everywhere).
SKIPPED_PREFIXES = ("/admin/",)


def _template(route: str) -> str:
    return "/" + _CONVERTER.sub(r"{\1}", route)


def _walk(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            found.extend(_walk(entry.url_patterns, prefix + route))
        elif isinstance(entry, URLPattern):
            found.append((prefix + route, entry.callback))
    return found


def _sample(template: str) -> str:
    return re.sub(r"\{\w+\}", "probe-id", template)


def _served(template: str, callback: Any) -> set[str]:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        return {m for m in METHODS if hasattr(view_class, m.lower()) and m.lower() in view_class.http_method_names}
    client = Client()
    return {m for m in METHODS if client.generic(m, _sample(template)).status_code != 405}


def mounted_routes() -> dict[str, set[str]]:
    """``{"/accounts/{account_id}": {"GET", "PATCH", "DELETE"}, …}``. Needs the database
    (probing a function view may look a key up)."""
    routes: dict[str, set[str]] = {}
    for route, callback in _walk(get_resolver().url_patterns):
        template = _template(route)
        if template.startswith(SKIPPED_PREFIXES) or "^" in route or "(?P" in route:
            continue
        routes.setdefault(template, set()).update(_served(template, callback))
    return routes
