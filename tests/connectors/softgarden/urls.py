"""The gateway's URLs plus the two softgarden mounts, fixed for these tests.

``gateway/urls.py`` mounts partner endpoints from whichever registry is active when it is
first imported, and does not mount the candidate link yet; this urlconf pins both so the
softgarden tests do not depend on import order or on that pending change.
"""

from django.urls import include, path

from connectors.softgarden import candidate_link
from connectors.softgarden.connector import SoftgardenConnector
from gateway.urls import urlpatterns as gateway_urlpatterns

urlpatterns = [
    path("connectors/softgarden/", include((list(SoftgardenConnector().urls()), "softgarden_test"))),
    *candidate_link.urlpatterns,
    *gateway_urlpatterns,
]

handler404 = "gateway.api.errors.not_found_view"
handler500 = "gateway.api.errors.server_error_view"
