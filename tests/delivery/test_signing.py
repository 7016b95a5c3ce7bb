"""Signatures checked two ways: an implementation written here from the Standard Webhooks
spec text, and the reference ``standardwebhooks`` verifier a receiver would use."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.delivery.signing import generate_signing_secret, sign, webhook_headers


def spec_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """From the spec: HMAC-SHA256 keyed with base64-decoded secret (sans ``whsec_``)
    over ``{id}.{timestamp}.{body}``, base64 encoded, prefixed ``v1,``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    to_sign = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, to_sign, hashlib.sha256).digest()).decode()


def test_generated_secret_is_prefixed_base64_of_24_random_bytes():
    secrets = {generate_signing_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[6:], validate=True)) == 24


def test_known_answer_vector_from_the_standard_webhooks_test_suite():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    assert spec_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected


@pytest.mark.parametrize(
    "body",
    [
        b'{"id":"evt_1","type":"ats_assessments.updated"}',
        json.dumps({"name": "Zoë Müller-Łukasiewicz 🙂", "city": "東京"}, ensure_ascii=False).encode(),
        b"",
    ],
)
def test_sign_matches_the_spec_and_the_reference_verifier(body):
    secret = generate_signing_secret()
    ts = int(time.time())
    signature = sign(secret, "evt_abc", ts, body)
    assert signature == spec_signature(secret, "evt_abc", ts, body)
    headers = {
        "webhook-id": "evt_abc",
        "webhook-timestamp": str(ts),
        "webhook-signature": signature,
    }
    Webhook(secret).verify(body, headers, json_parse=False)  # raises if it does not verify


def test_headers_carry_id_timestamp_content_type_and_verify():
    secret = generate_signing_secret()
    body = json.dumps({"candidate": "Ådne Ørsted"}, ensure_ascii=False).encode()
    before = int(time.time())
    headers = webhook_headers("evt_1", body, [secret])
    assert headers["webhook-id"] == "evt_1"
    assert before <= int(headers["webhook-timestamp"]) <= int(time.time())
    assert headers["Content-Type"] == "application/json"
    assert headers["webhook-signature"] == spec_signature(
        secret, "evt_1", int(headers["webhook-timestamp"]), body
    )
    assert Webhook(secret).verify(body, headers) == {"candidate": "Ådne Ørsted"}


def test_two_secrets_during_rotation_each_verify_with_their_own_signature():
    old, new = generate_signing_secret(), generate_signing_secret()
    body = '{"data": "ünïcödé"}'.encode()
    ts = int(time.time())
    headers = webhook_headers("evt_rot", body, [old, new], timestamp=ts)
    first, second = headers["webhook-signature"].split(" ")
    assert first == spec_signature(old, "evt_rot", ts, body)
    assert second == spec_signature(new, "evt_rot", ts, body)
    assert first != second
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_signing_secret()).verify(body, headers)


def test_tampered_body_or_timestamp_fails_verification():
    secret = generate_signing_secret()
    body = b'{"score": 78}'
    headers = webhook_headers("evt_t", body, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"score": 99}', headers)
    moved = dict(headers, **{"webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)})
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, moved)


def test_explicit_timestamp_is_used_verbatim():
    secret = generate_signing_secret()
    headers = webhook_headers("evt_x", b"{}", [secret], timestamp=1700000000)
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"] == spec_signature(secret, "evt_x", 1700000000, b"{}")


def test_refuses_to_sign_without_secret_or_with_non_utf8_body():
    with pytest.raises(ValueError):
        webhook_headers("evt_1", b"{}", [])
    with pytest.raises(ValueError):
        sign("not-a-whsec", "evt_1", 1, b"{}")
    with pytest.raises(UnicodeDecodeError):
        sign(generate_signing_secret(), "evt_1", 1, b"\xff\xfe")
