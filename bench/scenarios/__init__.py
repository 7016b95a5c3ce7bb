"""One module per scenario of issue #7; each has ``setup(bench)`` (data, before the
processes start where possible) and ``run(bench) -> dict`` (the measurements)."""
