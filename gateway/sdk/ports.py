"""The ports: what the core hands a connector for one operation, in one ``Context``.

Each port is a protocol the core implements; a connector uses nothing else. Everything
reached through a context is the context's account's: no port resolves another
account's orders, packages, tokens or cache entries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.sdk.http import Http
from gateway.sdk.values import OrderView, PackageView, ProviderState, ReceivedOrder, ResultData


@dataclass(frozen=True)
class AccountSnapshot:
    """The account as it was when the operation started. ``credentials`` are decrypted;
    ``inbound_key`` is the key the partner presents to us (ats role), which some
    partners also expect back on our calls (Greenhouse's result PATCH)."""

    id: str
    provider: str
    status: str
    credentials: Mapping[str, Any]
    settings: Mapping[str, Any]
    inbound_key: str | None = None


class Tokens(Protocol):
    """Access tokens cached per account in the shared cache, encrypted at rest.

    ``get(name, fetch)`` returns a cached token, or calls ``fetch() -> (token,
    lifetime_seconds)`` once across processes (a short lock keeps a stampede to one
    request) and keeps the token until shortly before it expires. ``name`` tells tokens
    of one account apart (e.g. a digest of the credentials they were issued for).
    ``forget(name, token)`` drops a token the partner refused (a 401), unless another
    process has already replaced it; the next ``get`` fetches a fresh one.
    """

    def get(self, name: str, fetch: Callable[[], tuple[str, int]]) -> str: ...

    def forget(self, name: str, token: str) -> None: ...


class Cache(Protocol):
    """A small key-value store shared by every process, namespaced to the account."""

    def add(self, key: str, value: Any, ttl: float) -> bool:
        """Set ``key`` only if absent; True when this call set it (a dedupe marker)."""
        ...

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, ttl: float | None) -> None: ...


class Catalog(Protocol):
    """The tests the tenant published for the ATS (ats role), oldest first."""

    def list(self) -> list[PackageView]: ...

    def get(self, remote_id: str) -> PackageView | None:
        """A published test by the id the ATS echoes back; withdrawn tests are unknown."""
        ...


class Orders(Protocol):
    """The account's orders, read as ``OrderView`` and written through the core's services
    (so every change is versioned, announced and delivered exactly as the unified API's)."""

    def get(self, order_id: str) -> OrderView | None:
        """By gateway id; erased orders too (``erased`` is set)."""
        ...

    def by_source_key(self, source_key: str) -> OrderView | None:
        """The order an earlier partner call with this idempotency key created."""
        ...

    def by_remote_id(self, remote_id: str) -> OrderView | None:
        """A live (not erased) order by the provider's id."""
        ...

    def open(self, *, package_remote_id: str | None = None, unattached: bool = False,
             limit: int = 100) -> list[OrderView]:
        """Open and in-progress orders, newest first; ``unattached``: those without a
        ``remote_id`` yet."""
        ...

    def receive(self, *, source_key: str, package: PackageView, order: ReceivedOrder) -> tuple[OrderView, bool]:
        """An ATS sent an order. Idempotent on ``source_key`` (only a keyed digest is
        stored): the same key again returns the first order. Returns ``(order, created)``;
        a new order emits ``ats_assessments.created``."""
        ...

    def apply(self, order_id: str, state: ProviderState) -> bool:
        """Apply a provider's state under a row lock; True when anything changed (then
        ``ats_assessments.updated`` is emitted). Erased orders are left alone."""
        ...

    def update_result(self, order_id: str, result: ResultData) -> OrderView:
        """Store a result as the tenant's ``PATCH …/result`` does (ats role)."""
        ...

    def cancel(self, order_id: str) -> OrderView:
        """The ATS withdrew the order: ``cancelled`` and ``ats_assessments.updated``.
        Already closed orders stay as they are."""
        ...

    def enrich(self, order_id: str, *, application: Mapping[str, Any] | None = None,
               job: Mapping[str, Any] | None = None) -> bool:
        """Merge partner details into an order (no version bump, no event: the vendor's
        view did not change). False when the order is gone or erased."""
        ...

    def erase(self, order_id: str) -> None:
        """The GDPR erase of the unified ``DELETE``."""
        ...

    def report_partner_error(self, *, order_id: str | None, api_call: str, errors: Sequence[str],
                             report: Mapping[str, Any]) -> None:
        """A partner says one of our answers was wrong: kept for the admin and sent to the
        tenant as ``ats_assessments.partner_error``."""
        ...


class Defer(Protocol):
    def __call__(self, job: str, **kwargs: Any) -> None:
        """Run the connector's declared job ``job`` for this account in the background
        (after the current transaction commits). Best effort: a job lost with a broker
        outage is not retried, so use it for work the connector can live without."""
        ...


@dataclass
class Context:
    """What one operation of a connector receives.

    ``calls`` collects a redacted record of every outbound call made through ``http``
    (the core shows them for ``raw=true`` and in ``provider_errors``); ``proxy`` holds the
    caller's ``proxy[...]`` query parameters for list calls; ``public_url`` is the base
    of the links the gateway hands out; ``outbound_timeout`` is the client's total time
    per call. ``clock`` returns wall-clock seconds (injectable for tests).
    """

    account: AccountSnapshot
    http: Http
    tokens: Tokens
    cache: Cache
    orders: Orders
    catalog: Catalog
    defer: Defer
    public_url: str
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    calls: list[Any] = field(default_factory=list)
    proxy: Mapping[str, str] = field(default_factory=dict)

    # Shorthands: most connector code reads these two.
    @property
    def credentials(self) -> Mapping[str, Any]:
        return self.account.credentials

    @property
    def settings(self) -> Mapping[str, Any]:
        return self.account.settings

    @property
    def account_id(self) -> str:
        return self.account.id
