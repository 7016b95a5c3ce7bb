"""Connectors: one package per partner, found through the ``gateway.connectors`` entry points."""
