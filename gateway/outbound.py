"""The one outbound HTTP client for every URL a partner or a tenant gave us.

Such URLs are attacker-controlled, so every call goes through an SSRF guard built on
requests-hardened: http(s) only, the host resolved once and the connection pinned to that
address, private/loopback/link-local/reserved ranges refused, redirects never followed
(a 3xx is returned as-is, so a public host cannot bounce us inside). Hosts listed in
``allowed_hosts`` (``GATEWAY_OUTBOUND_ALLOWED_HOSTS``: simulators, tests) skip the address
filter but keep every other rule. Each call yields a redacted :class:`CallRecord`, safe to
log, show in the admin and return to tenants with ``raw=true``.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import ipaddress
import json as _json
import logging
import re
import socket
import time
from collections.abc import Iterable, Mapping
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from requests.models import PreparedRequest
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES, InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter

from gateway.sdk.http import HttpBlocked, HttpError, HttpTimeout

logger = logging.getLogger("gateway.outbound")

REDACTED = "REDACTED"
RECORD_LIMIT = 64 * 1024  # characters of a response kept in a CallRecord
MAX_RESPONSE_BYTES = 10 * 1024 * 1024  # bigger bodies are refused, not buffered
_IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_SECRET_WORDS = frozenset(
    "token secret password passwd pwd signature sig key apikey auth authorization "
    "credential credentials cookie".split()
)


class OutboundError(HttpError):
    """A call that produced no HTTP response; ``record`` says what was attempted. The
    SDK's ``HttpError``, so connectors catch it without knowing this module."""

    record: CallRecord


class BlockedDestination(OutboundError, HttpBlocked):
    """The SSRF guard refused the URL (scheme, missing host, or a blocked address)."""


class OutboundTimeout(OutboundError, HttpTimeout):
    """Connecting or reading took longer than the timeout: worth a retry."""


class OutboundConnectionError(OutboundError):
    """DNS failure, refused or reset connection, TLS failure: worth a retry."""


_FIELDS = ("method", "url", "status", "response", "elapsed_ms", "error")


class CallRecord:
    """What one call did, redacted: the only form in which calls are kept. Immutable.

    The response body is redacted when it is first read rather than when the call
    returns. Most records are never read (they exist for ``raw=true``, provider errors
    and the admin), and redacting a provider's full JSON answer on every call was most
    of what a pass-through request cost (bench/, scenario 2). The unredacted body is
    held privately until then and never appears in ``repr``, ``as_dict`` or comparisons:
    everything that reads the record sees the redacted value.
    """

    __slots__ = ("method", "url", "status", "elapsed_ms", "error", "_response", "_pending")

    def __init__(self, method: str, url: str, status: int | None, response: Any, elapsed_ms: int,
                 error: str | None = None) -> None:
        for name, value in (("method", method), ("url", url), ("status", status), ("_response", response),
                            ("elapsed_ms", elapsed_ms), ("error", error), ("_pending", None)):
            object.__setattr__(self, name, value)

    @classmethod
    def deferred(cls, method: str, url: str, status: int | None, elapsed_ms: int, *, content: bytes,
                 content_type: str, needles: list[str]) -> CallRecord:
        """A record whose body is redacted (by ``_record_body``) on first read."""
        record = cls(method, url, status, None, elapsed_ms)
        object.__setattr__(record, "_pending", (content, content_type, needles))
        return record

    @property
    def response(self) -> Any:
        pending = self._pending
        if pending is not None:
            # Idempotent: two threads racing here compute the same value.
            object.__setattr__(self, "_response", _record_body(*pending))
            object.__setattr__(self, "_pending", None)
        return self._response

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.as_dict() == other.as_dict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in _FIELDS))

    def __repr__(self) -> str:
        return "CallRecord(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS) + ")"


@dataclasses.dataclass(frozen=True)
class OutboundResponse:
    """Any HTTP response, 2xx or not: retry decisions belong to the caller."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    record: CallRecord
    encoding: str | None = None

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.content)


# --- redaction -----------------------------------------------------------------------

_QUERY_PARAM = re.compile(r"(?<=[?&;])([^=&;?#\s]+)=([^&;#\s\"'<>)]*)")
_AUTH_FIELD = re.compile(
    r"(?i)(\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)"
    r"(?:(?:bearer|basic|token|digest)\s+)?[^\s\"',;{}\[\]]+"
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*")
_BASIC = re.compile(r"(?i)\b(basic)\s+([A-Za-z0-9+/]{4,}={0,2})")


@functools.lru_cache(maxsize=4096)  # field names repeat across items and calls
def _name_looks_secret(name: str, *, query: bool = False) -> bool:
    """Word match on a field name (``api_key``, ``X-Api-Key``, ``accessToken``…)."""
    words = re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower())
    return any(w in _SECRET_WORDS or (query and w == "code") for w in words)


def _needles(secrets: Iterable[str]) -> list[str]:
    """Secrets and their URL-encoded form, longest first; under 4 chars would shred text."""
    found = {s for s in secrets if isinstance(s, str) and len(s) >= 4}
    found |= {quote(s, safe="") for s in found}
    return sorted(found, key=len, reverse=True)


def _basic_sub(match: re.Match[str]) -> str:
    """Only a real credential (base64 of ``user:pass``), so prose like "basic plan" stays."""
    try:
        is_credential = b":" in base64.b64decode(match.group(2), validate=True)
    except ValueError:
        is_credential = False
    return f"{match.group(1)} {REDACTED}" if is_credential else match.group(0)


def _query_sub(match: re.Match[str]) -> str:
    secret = _name_looks_secret(unquote_plus(match.group(1)), query=True)
    return f"{match.group(1)}={REDACTED}" if secret else match.group(0)


def _redact_text(text: str, needles: list[str]) -> str:
    for needle in needles:
        text = text.replace(needle, REDACTED)
    if text.isascii():
        # None of the patterns can match an ASCII text without its keyword (they are
        # case-insensitive, and ASCII lower-casing is exact), so most strings skip them.
        lowered = text.lower()
        if "authorization" not in lowered and "bearer" not in lowered and "basic" not in lowered:
            return text
    text = _AUTH_FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _BASIC.sub(_basic_sub, text)


def _redact(value: Any, needles: list[str]) -> Any:
    if isinstance(value, str):
        return _redact_text(value, needles)
    if isinstance(value, Mapping):
        return {
            _redact(k, needles): REDACTED
            if isinstance(k, str) and _name_looks_secret(k) and value[k] not in (None, "")
            else _redact(value[k], needles)
            for k in value
        }
    if isinstance(value, list | tuple):
        return [_redact(v, needles) for v in value]
    return value


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Copy of a text or JSON value with secrets, credentials and secret-named fields masked.

    Every occurrence of each string in ``secrets`` is replaced, inside JSON strings too,
    as are ``Authorization``/``Bearer``/``Basic`` credentials and values of keys whose name
    looks secret (``access_token``, ``apiKey``…). Errs on the side of masking too much.
    """
    return _redact(value, _needles(secrets))


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """The URL without userinfo or fragment, secret-looking query values masked."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return _redact_text(_QUERY_PARAM.sub(_query_sub, bare), _needles(secrets))


# --- hosts and addresses -----------------------------------------------------------

_LEGACY_IPV4 = re.compile(r"(?i)^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$")


def _normalize_host(host: str) -> str:
    host = host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
    ip = _literal_ip(host)
    return str(ip) if ip is not None else host


def _literal_ip(host: str) -> _IP | None:
    """An IP literal, including legacy IPv4 forms (``127.1``, ``0x7f.0.0.1``) that
    resolvers accept as addresses without any DNS lookup."""
    host = host.removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_blocked_ip(ip: _IP) -> bool:
    """Whether an address is not a plain public unicast one (see the ranges below)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # what the socket really reaches, as requests-hardened does
    # ``is_global`` alone misses multicast, IPv4-compatible ::a.b.c.d, site-local fec0::/10
    # and, on older Pythons, 192.0.0.0/24; requests-hardened's list adds CG-NAT, NAT64, 6to4.
    site_local = isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local
    special = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified
    return (
        not ip.is_global or special or ip.is_multicast or ip.is_reserved or site_local
        or any(ip in net for net in EXTRA_BLOCKED_NET_RANGES)
    )  # fmt: skip


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """Exact host (or IP) match, or ``*.example.com`` for any subdomain of it.

    The wildcard never matches the bare domain nor ``evil-example.com``; a lone ``*``
    matches nothing, so the guard cannot be switched off by accident.
    """
    host = _normalize_host(host)
    for pattern in patterns:
        if pattern.startswith("*."):
            suffix = "." + _normalize_host(pattern[2:])
            if suffix != "." and host.endswith(suffix) and len(host) > len(suffix):
                return True
        elif pattern and host == _normalize_host(pattern):
            return True
    return False


def validate_submitted_url(url: str, *, allowed_hosts: Iterable[str] = ()) -> None:
    """Refuse a tenant-submitted URL early (422) with a ``ValueError`` a human can act on.

    Host names are not resolved here (DNS may change); delivery re-checks the resolved
    address on every call.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise ValueError(f"The URL is malformed: {exc}.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("Only http:// and https:// URLs are accepted.")
    if not host:
        raise ValueError("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise ValueError("Credentials in URLs are refused; use the signing secret instead.")
    if host_matches(host, allowed_hosts):
        return
    ip = _literal_ip(host)
    if ip is not None and is_blocked_ip(ip):
        raise ValueError(f"The address {ip} is private, loopback or reserved.")


# --- the client --------------------------------------------------------------------------


class _GuardedAdapter(IPFilterAdapter):
    """requests-hardened's resolve-once-and-pin filter, with a pool size, and our wider
    ranges re-checked on the pinned address so that delivery agrees with submission."""

    def __init__(self, *, is_https_proto: bool, pool_size: int) -> None:
        self._pool_size = pool_size
        super().__init__(is_https_proto=is_https_proto, allow_loopback=False)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **kw: Any
    ) -> None:
        # HTTPAdapter calls this from __init__ with its defaults; substitute ours.
        super().init_poolmanager(self._pool_size, self._pool_size, block, **kw)

    def build_connection_pool_key_attributes(  # type: ignore[no-untyped-def]
        self, request, verify, cert=None
    ):
        host_params, kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pinned = ipaddress.ip_address(host_params["host"].strip("[]"))
        if is_blocked_ip(pinned):
            raise InvalidIPAddress(pinned)
        return host_params, kwargs


def _session(*, guarded: bool, timeout: float, user_agent: str, pool_size: int) -> HTTPSession:
    config = Config(
        ip_filter_enable=guarded,
        ip_filter_allow_loopback_ips=False,
        never_redirect=True,
        default_timeout=(timeout, timeout),
        user_agent_override=user_agent,
    )
    session = HTTPSession(config)
    session.trust_env = False  # no proxy from the environment, no ~/.netrc credentials
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # no shared cookies
    for prefix in ("https://", "http://"):
        adapter = (
            _GuardedAdapter(is_https_proto=prefix == "https://", pool_size=pool_size)
            if guarded
            else HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        )
        session.mount(prefix, adapter)
    return session


def _with_params(url: str, params: Any) -> str:
    """The URL as it will be sent (params merged, IDNA applied); as given if unparsable."""
    prepared = PreparedRequest()
    try:
        prepared.prepare_url(url, params)
    except requests.RequestException:
        return url
    return prepared.url or url


def _carried_secrets(url: str, headers: Mapping[str, str] | None, auth: Any) -> list[str]:
    """Credentials the request itself carries, so that an echo of them is masked too."""
    parts = urlsplit(url)
    found = [unquote_plus(p) for p in (parts.username, parts.password) if p]
    for m in _QUERY_PARAM.finditer("?" + parts.query):
        if _name_looks_secret(unquote_plus(m.group(1)), query=True):
            found.append(unquote_plus(m.group(2)))
    for name, value in (headers or {}).items():
        if isinstance(value, str) and _name_looks_secret(name):
            found += [value, value.partition(" ")[2]]
    if isinstance(auth, HTTPBasicAuth):
        auth = (auth.username, auth.password)
    if isinstance(auth, tuple) and len(auth) == 2:
        basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        found += [str(auth[0]), str(auth[1]), basic]
    return found


def _classify(exc: requests.RequestException) -> type[OutboundError]:
    if isinstance(exc, InvalidIPAddress | requests.exceptions.InvalidURL):
        return BlockedDestination
    # A read timeout in the middle of a body surfaces as ConnectionError(ReadTimeoutError).
    timeouts = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
    if isinstance(exc, requests.Timeout) or any(isinstance(a, timeouts) for a in exc.args):
        return OutboundTimeout
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return OutboundConnectionError  # includes DNS, TLS and a body cut short
    return OutboundError


def _read_body(resp: requests.Response, deadline: float, limit: int) -> bytes:
    """Read under an overall deadline and a size cap: a slow-drip or huge response must
    not pin a worker or its memory."""
    chunks, size = [], 0
    for chunk in resp.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise requests.RequestException(f"response body larger than {limit} bytes")
        if time.monotonic() > deadline:
            raise requests.exceptions.ReadTimeout("response body took too long")
        chunks.append(chunk)
    return b"".join(chunks)


def _record_body(content: bytes, content_type: str, needles: list[str]) -> Any:
    """Parsed JSON when it is JSON and fits, else text, redacted *before* truncation so
    that a secret cut in half at the boundary cannot leak."""
    if not content:
        return None
    if len(content) <= RECORD_LIMIT and ("json" in content_type or content[:1] in b"{["):
        try:
            return redact(_json.loads(content), needles)
        except ValueError:
            pass
    text = redact(content.decode("utf-8", errors="replace"), needles)
    return text if len(text) <= RECORD_LIMIT else text[:RECORD_LIMIT] + "…[truncated]"


@dataclasses.dataclass
class _Call:
    """One call in flight: turns its outcome into a logged CallRecord."""

    method: str
    url: str  # already redacted
    needles: list[str]
    start: float = dataclasses.field(default_factory=time.monotonic)

    def record(self, status: int | None, body: Any = None, error: str | None = None) -> CallRecord:
        elapsed_ms = self._log(status, error)
        return CallRecord(self.method, self.url, status, body, elapsed_ms, error)

    def deferred_record(self, status: int, content: bytes, content_type: str) -> CallRecord:
        return CallRecord.deferred(self.method, self.url, status, self._log(status, None), content=content,
                                   content_type=content_type, needles=self.needles)

    def _log(self, status: int | None, error: str | None) -> int:
        elapsed_ms = int((time.monotonic() - self.start) * 1000)
        outcome = status if error is None else f"error ({error})"
        logger.info("%s %s -> %s in %d ms", self.method, self.url, outcome, elapsed_ms)
        return elapsed_ms

    def fail(self, kind: type[OutboundError], message: str) -> OutboundError:
        error = redact(_QUERY_PARAM.sub(_query_sub, message), self.needles)
        return kind(error, self.record(None, error=error))


class OutboundClient:
    """Two pooled sessions (guarded, and allow-listed) shared by all threads.

    urllib3's pools are thread-safe, the cookie jar is disabled and no session state is
    changed after construction; requests does not formally promise Session thread-safety,
    so if that ever bites, one client per thread is cheap. ``timeout`` bounds the connect
    and each read; a whole call, body included, gets at most twice that.
    """

    def __init__(
        self,
        *,
        allowed_hosts: Iterable[str] = (),
        timeout: float = 10.0,
        user_agent: str = "assessment-gateway/1",
        pool_size: int = 10,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.allowed_hosts = tuple(allowed_hosts)
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        make = functools.partial(
            _session, timeout=timeout, user_agent=user_agent, pool_size=pool_size
        )
        self._guarded, self._trusted = make(guarded=True), make(guarded=False)

    def close(self) -> None:
        self._guarded.close()
        self._trusted.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        params: Any = None,
        auth: Any = None,
        timeout: float | None = None,
        secrets: Iterable[str] = (),
    ) -> OutboundResponse:
        """Send one request. Any HTTP status, 3xx included, is a response; only getting
        no response raises (an :class:`OutboundError`)."""
        full_url = _with_params(url, params)
        needles = [*secrets, *_carried_secrets(full_url, headers, auth)]
        call = _Call(method.upper(), redact_url(full_url, needles), needles)
        session = self._session_for(full_url, call)
        limit = timeout or self.timeout
        try:
            with session.request(
                call.method, full_url, headers=dict(headers or {}), json=json, data=data,
                auth=auth, timeout=(limit, limit), stream=True,
            ) as resp:  # fmt: skip
                content = _read_body(resp, call.start + 2 * limit, self.max_response_bytes)
        except InvalidIPAddress as exc:
            raise call.fail(BlockedDestination, f"resolved address {exc} is blocked") from None
        except requests.RequestException as exc:
            raise call.fail(_classify(exc), f"{type(exc).__name__}: {exc}") from None
        record = call.deferred_record(resp.status_code, content, resp.headers.get("Content-Type", ""))
        return OutboundResponse(resp.status_code, resp.headers, content, record, resp.encoding)

    def _session_for(self, url: str, call: _Call) -> HTTPSession:
        """Refuse what needs no I/O to refuse, then pick the guarded or trusted session."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise call.fail(BlockedDestination, "only http(s) URLs with a host may be called")
        if host_matches(parts.hostname, self.allowed_hosts):
            return self._trusted
        ip = _literal_ip(parts.hostname)
        if ip is not None and is_blocked_ip(ip):
            raise call.fail(BlockedDestination, f"address {ip} is blocked")
        return self._guarded


@functools.cache
def client_from_settings() -> OutboundClient:
    """The process-wide client from Django settings (``cache_clear()`` resets it)."""
    from django.conf import settings

    return OutboundClient(
        allowed_hosts=getattr(settings, "GATEWAY_OUTBOUND_ALLOWED_HOSTS", ()),
        timeout=float(getattr(settings, "GATEWAY_OUTBOUND_TIMEOUT", 10.0)),
    )
