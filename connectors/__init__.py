"""The built-in connectors: one package per partner, each importing the connector SDK
(``gateway.sdk``) and nothing else of the gateway, registered through the same
entry-point group a partner's pip package uses (see pyproject.toml)."""
