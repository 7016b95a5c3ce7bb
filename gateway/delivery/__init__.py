"""Outbound delivery: the outbox, its sender and sweeper, signing and the outbound client."""
