"""Partner endpoints, served for the connectors that declare them (``gateway.sdk.endpoints``)."""
