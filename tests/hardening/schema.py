"""The OpenAPI schema as ``/openapi.json`` serves it, with the connector hook in force.

``gateway.api.schema.connector_paths_hook`` belongs in ``SPECTACULAR_SETTINGS``
(``POSTPROCESSING_HOOKS``). Until the settings carry it, ``connector_hook`` patches it in
for the duration, so these tests run the same either way; once it is configured, the
patch is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings, spectacular_settings

HOOK = "gateway.api.schema.connector_paths_hook"


def _dotted(function: Any) -> str:
    return f"{function.__module__}.{function.__qualname__}"


@contextmanager
def connector_hook() -> Iterator[None]:
    configured = [_dotted(hook) for hook in spectacular_settings.POSTPROCESSING_HOOKS]
    if HOOK in configured:
        yield
        return
    with patched_settings({"POSTPROCESSING_HOOKS": [*configured, HOOK]}):
        yield


def openapi_schema() -> dict[str, Any]:
    """The generated schema (what the ``spectacular`` command writes)."""
    with connector_hook():
        return SchemaGenerator().get_schema(request=None, public=True)


def requires_auth(operation: dict[str, Any]) -> bool:
    """Whether an operation declares a security requirement (``[{}]`` means none)."""
    return any(requirement for requirement in operation.get("security") or [])
