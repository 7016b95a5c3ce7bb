"""Benchmarks of the gateway (issue #7): ``python -m bench.run``.

Not tests: they start the gateway the production way (gunicorn, Celery worker and beat,
PostgreSQL, Redis), drive bounded loads over loopback, and print ratios against
baselines measured in the same run. Nothing here is imported by the product.
"""
