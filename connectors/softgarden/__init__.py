"""The softgarden connector."""
