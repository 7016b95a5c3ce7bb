"""The candidate link ``/t/<token>`` handed to softgarden as ``testUrl`` (CONTRACT §4.2).

Mounted at the root by ``gateway/urls.py``; one test calls the view directly through
``RequestFactory``, independent of any urlconf.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory

from gateway.assessments.candidate_link import CandidateLinkView
from tests.connectors.softgarden.conftest import Softgarden


def path_of(test_url: str) -> str:
    return test_url.removeprefix("http://testserver")


def token_of(test_url: str) -> str:
    return test_url.rsplit("/", 1)[1]


def test_before_the_vendor_sets_its_link_a_plain_page_is_shown(sg: Softgarden) -> None:
    link = sg.invitation()["testUrl"]
    response = Client().get(path_of(link))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    html = response.content.decode()
    assert re.search(r'<html lang="en">', html)
    assert "<title>Your test is being prepared</title>" in html
    assert "<h1>Your test is being prepared</h1>" in html
    assert '<meta http-equiv="refresh" content="15">' in html
    assert "Python (Senior)" in html
    assert "<script" not in html
    for personal in ("Jane", "Doe", "jane.doe@example.com"):
        assert personal not in html


def test_once_the_vendor_sets_its_link_it_redirects(sg: Softgarden) -> None:
    invitation = sg.invitation()
    sg.set_test_url(invitation["invitationId"], "https://vendor.example.com/start/abc?x=1")
    response = Client().get(path_of(invitation["testUrl"]))
    assert response.status_code == 302
    assert response["Location"] == "https://vendor.example.com/start/abc?x=1"
    assert response["Cache-Control"] == "no-store"
    assert Client().head(path_of(invitation["testUrl"])).status_code == 302


def test_the_view_works_through_request_factory(sg: Softgarden) -> None:
    invitation = sg.invitation()
    token = token_of(invitation["testUrl"])
    view = CandidateLinkView.as_view()
    assert view(RequestFactory().get(f"/t/{token}"), token=token).status_code == 200
    sg.set_test_url(invitation["invitationId"], "https://vendor.example.com/start/abc")
    response = view(RequestFactory().get(f"/t/{token}"), token=token)
    assert (response.status_code, response["Location"]) == (302, "https://vendor.example.com/start/abc")


@pytest.mark.parametrize(
    "token", ["unknown-token-aaaaaaaaaaaaaaaaaaaa", "short", "has.dots.aaaaaaaaaaaaaaaaaaaaaa", "x" * 65]
)
def test_unknown_token_is_404(sg: Softgarden, token: str) -> None:
    sg.invitation()
    response = Client().get(f"/t/{token}")
    assert response.status_code == 404
    assert "<title>This link is not valid</title>" in response.content.decode()


def test_an_erased_invitations_link_is_404(sg: Softgarden) -> None:
    invitation = sg.invitation()
    sg.delete(invitation["invitationId"])
    assert Client().get(path_of(invitation["testUrl"])).status_code == 404


def test_an_unlinked_accounts_link_is_404(sg: Softgarden) -> None:
    invitation = sg.invitation()
    sg.tenant.client.delete(f"/accounts/{sg.id}")
    assert Client().get(path_of(invitation["testUrl"])).status_code == 404


def test_a_closed_order_without_a_link_says_so(sg: Softgarden) -> None:
    invitation = sg.invitation()
    sg.report(invitation["invitationId"], {"result": {"value": "expired"}})
    response = Client().get(path_of(invitation["testUrl"]))
    assert response.status_code == 410
    assert "<h1>This test is closed</h1>" in response.content.decode()
    assert "refresh" not in response.content.decode()


def test_the_test_name_is_escaped(sg: Softgarden) -> None:
    sg.publish([{"remote_id": "xss", "name": "<script>alert(1)</script> & co"}])
    link = sg.invitation(test_id="xss")["testUrl"]
    html = Client().get(path_of(link)).content.decode()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


def test_only_get_and_head(sg: Softgarden) -> None:
    link = sg.invitation()["testUrl"]
    assert Client().post(path_of(link)).status_code == 405


def test_tokens_are_unguessable_and_distinct(sg: Softgarden) -> None:
    tokens = {token_of(sg.invitation()["testUrl"]) for _ in range(5)}
    assert len(tokens) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", token) for token in tokens)
