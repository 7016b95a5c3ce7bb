"""The candidate link ``/t/<token>``: a test URL for an ATS that needs one at once.

An ATS may need a test link in its answer to an invitation (softgarden does), but the
assessment vendor (the tenant) attaches its own link later, with ``PATCH …/orders/{id}``.
So the gateway hands out its own unguessable link, which forwards (302) to the vendor's
once set, and until then shows a plain page that reloads itself. The token is the only
secret: the page reveals nothing about the candidate, only the test's name.

Mounted at the root: candidates see this address, and it belongs to no partner.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views import View

from gateway.assessments.models import Order

LINK_PREFIX = "t/"
REFRESH_SECONDS = 15
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_CLOSED = frozenset({"completed", "cancelled", "expired", "failed"})

# No scripts, no external resources; the only dynamic text is escaped by format_html.
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
{refresh}<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; line-height: 1.5; margin: 0; color: #1a1a1a; background: #fff; }}
main {{ max-width: 36rem; margin: 4rem auto; padding: 0 1rem; }}
a {{ color: #0645ad; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"""


def candidate_link_url(token: str) -> str:
    return f"{settings.GATEWAY_PUBLIC_URL}/{LINK_PREFIX}{token}"


def link_token_new() -> str:
    """192 random bits: the link is the only thing between anyone and the test."""
    return secrets.token_urlsafe(24)


def order_candidate_link(order: Any) -> str | None:
    """The link for ``order``; None when it has no token (erased)."""
    return candidate_link_url(order.link_token) if order.link_token else None


def order_for_link_token(token: str) -> Order | None:
    """The live order behind a candidate link: not erased, on a linked account."""
    if not _TOKEN_SHAPE.match(token):
        return None
    return (
        Order.objects.filter(link_token=token, erased_at__isnull=True, account__deleted_at__isnull=True)
        .only("id", "status", "test_url", "package")
        .first()
    )


def _page(status: int, title: str, body: SafeString, *, refresh: bool = False) -> HttpResponse:
    meta = format_html('<meta http-equiv="refresh" content="{}">\n', REFRESH_SECONDS) if refresh else ""
    html = format_html(_PAGE, refresh=meta, title=title, body=body)
    return _no_store(HttpResponse(html, status=status, content_type="text/html; charset=utf-8"))


def _no_store(response: HttpResponse) -> HttpResponse:
    # The answer changes when the vendor sets its link: nothing may cache the page or
    # the redirect; and the token must not leak to other sites through Referer.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return response


def _redirectable(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class CandidateLinkView(View):
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        order = order_for_link_token(token)
        if order is None:
            return _page(
                404,
                "This link is not valid",
                mark_safe("<p>Please check that you copied the whole address from your invitation.</p>"),
            )
        if _redirectable(order.test_url):
            return _no_store(HttpResponseRedirect(order.test_url))
        if order.status in _CLOSED:
            return _page(
                410,
                "This test is closed",
                mark_safe(
                    "<p>This test can no longer be taken. If you think this is a mistake, "
                    "please contact the company that invited you.</p>"
                ),
            )
        test_name = (order.package or {}).get("name") or ""
        about = (
            format_html("<p>Your test <strong>{}</strong> is being set up.</p>", test_name)
            if test_name
            else mark_safe("")
        )
        return _page(
            200,
            "Your test is being prepared",
            format_html(
                "{}<p>This page checks again every {} seconds and takes you to your test as soon "
                'as it is ready. You can also <a href="">check now</a>.</p>',
                about,
                REFRESH_SECONDS,
            ),
            refresh=True,
        )

