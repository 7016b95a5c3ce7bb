"""URLs: the platform API at the root, the unified API under ``/unified``, each
connector's partner endpoints under ``/connectors/<provider>/``, and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from gateway.api.health import HealthApi
from gateway.assessments import api as assessments
from gateway.assessments.candidate_link import CandidateLinkView
from gateway.delivery import api as delivery
from gateway.partners.urls import partner_urlpatterns
from gateway.tenancy import api as tenancy

unified = [
    path("packages", assessments.PackageListApi.as_view(), name="package-list"),
    path("packages/<str:package_id>", assessments.PackageDetailApi.as_view(), name="package-detail"),
    path("orders", assessments.OrderListApi.as_view(), name="order-list"),
    path("orders/<str:order_id>", assessments.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:order_id>/result", assessments.OrderResultApi.as_view(), name="order-result"),
    path("results", assessments.ResultListApi.as_view(), name="result-list"),
    path("results/<str:result_id>", assessments.ResultDetailApi.as_view(), name="result-detail"),
]

platform = [
    path("connectors", tenancy.ConnectorListApi.as_view(), name="connector-list"),
    path("accounts", tenancy.AccountListApi.as_view(), name="account-list"),
    path("accounts/<str:account_id>", tenancy.AccountDetailApi.as_view(), name="account-detail"),
    path(
        "accounts/<str:account_id>/inbound_key",
        tenancy.AccountInboundKeyApi.as_view(),
        name="account-inbound-key",
    ),
    path("accounts/<str:account_id>/check", tenancy.AccountCheckApi.as_view(), name="account-check"),
    path("webhook_endpoints", delivery.WebhookEndpointListApi.as_view(), name="webhook-endpoint-list"),
    path(
        "webhook_endpoints/<str:endpoint_id>",
        delivery.WebhookEndpointDetailApi.as_view(),
        name="webhook-endpoint-detail",
    ),
    path("signing_secret", delivery.SigningSecretApi.as_view(), name="signing-secret"),
    path("health", HealthApi.as_view(), name="health"),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
]

urlpatterns = [
    *platform,
    path("unified/ats/assessments/", include(unified)),
    *partner_urlpatterns(),
    path("t/<str:token>", CandidateLinkView.as_view(), name="candidate-link"),
    path("admin/", admin.site.urls),
]

handler404 = "gateway.api.errors.not_found_view"
handler500 = "gateway.api.errors.server_error_view"
