"""The gateway's URLs plus one baseline endpoint, served by the same gunicorn.

The baseline is the cheapest thing an authenticated tenant call can be on this stack: a
DRF ``APIView`` with the gateway's default authentication (API key digest lookup),
permission and rate-limit throttle, answering a constant. Scenario 1 divides the read
path's throughput by this one's, so the ratio shows what the unified read itself costs
(account scoping, queries, serialization) beyond what every endpoint pays anyway. It is
kept out of the product's URLconf on purpose.
"""

from __future__ import annotations

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway.urls import handler404, handler500  # noqa: F401
from gateway.urls import urlpatterns as gateway_urlpatterns


class BaselineApi(APIView):
    """Authenticated by ``ApiKeyAuthentication`` through ``REST_FRAMEWORK`` defaults."""

    def get(self, request: Request) -> Response:
        return Response({"data": {"tenant_id": request.user.tenant.id}})


urlpatterns = [*gateway_urlpatterns, path("bench/baseline", BaselineApi.as_view(), name="bench-baseline")]
