"""Test settings: the production settings module, with test-only secrets supplied.

``DATABASE_URL`` and ``REDIS_URL`` pass through from the environment: ``make test``
(and CI) points them at the local PostgreSQL and Redis; without them the suite runs on
SQLite and an in-process cache.
"""

import os

from cryptography.fernet import Fernet

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("GATEWAY_ENCRYPTION_KEYS", Fernet.generate_key().decode())
# Simulators and receivers listen on loopback; tests of the SSRF guard clear this.
os.environ.setdefault("GATEWAY_OUTBOUND_ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("GATEWAY_PUBLIC_URL", "http://testserver")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from gateway.settings import *  # noqa: E402,F403

# Deliveries and tasks are sent by the tests themselves (or a real worker in the
# delivery tests), never behind their back.
GATEWAY_TASK_RUNNER = os.environ.get("GATEWAY_TASK_RUNNER", "off")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
