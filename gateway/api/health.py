"""``GET /health`` (no auth): the database and the broker, checked for real."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        logger.exception("Health check: database unavailable")
        return "down"


def broker_status() -> str:
    if settings.GATEWAY_EMBEDDED:
        return "embedded"
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        return "ok"
    except redis.RedisError:
        logger.exception("Health check: broker unavailable")
        return "down"


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(tags=["Platform"], responses={
        200: inline_serializer("Health", {
            "status": serializers.CharField(), "database": serializers.CharField(),
            "broker": serializers.CharField()}),
        503: inline_serializer("HealthDown", {
            "status": serializers.CharField(), "database": serializers.CharField(),
            "broker": serializers.CharField()}),
    })
    def get(self, request: Request) -> Response:
        database, broker = database_status(), broker_status()
        healthy = database == "ok" and broker in ("ok", "embedded")
        body = {"status": "ok" if healthy else "degraded", "database": database, "broker": broker}
        return Response(body, status=200 if healthy else 503)
