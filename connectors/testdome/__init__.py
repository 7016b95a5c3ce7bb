"""The testdome connector."""
