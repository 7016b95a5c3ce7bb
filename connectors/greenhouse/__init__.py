"""The greenhouse connector."""
