"""The gateway's URLs with the Greenhouse endpoints mounted for certain.

``gateway.urls`` mounts partner endpoints from whatever registry is active when it is first
imported; in a full test run that can be another test's fake registry, so these tests use
this URLconf (the same routes, built independently of import order).
"""

from django.urls import include, path

from connectors.greenhouse.connector import GreenhouseConnector
from gateway import urls as gateway_urls

handler404 = gateway_urls.handler404
handler500 = gateway_urls.handler500

urlpatterns = [
    path("connectors/greenhouse/", include((list(GreenhouseConnector().urls()), "greenhouse"))),
    *[p for p in gateway_urls.urlpatterns if not str(p.pattern).startswith("connectors/")],
]
