"""A URLconf that mounts the declared endpoints of the test connectors below the real ones."""

from gateway.partners.urls import mounted_patterns
from gateway.urls import urlpatterns as gateway_urlpatterns
from tests.partners.connectors import DeclaringAts, EnvelopedAts

urlpatterns = [*mounted_patterns([DeclaringAts(), EnvelopedAts()]), *gateway_urlpatterns]
