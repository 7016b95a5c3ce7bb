"""Django settings for the benchmark's processes: the gateway's own settings, plus the
benchmark URLconf (which adds the baseline endpoint). Everything else comes from the same
environment variables as production, so the bench measures the production configuration.
"""

from gateway.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
