# The two commands a newcomer needs are `make demo` and `make test`; the rest are
# the production-style processes (see README.md).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# Tests use the local PostgreSQL and Redis unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/gateway
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install demo test lint web worker beat migrate bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

# Embedded mode: SQLite under var/, in-process tasks, the partner simulators on loopback.
demo: install
	env -u DATABASE_URL -u REDIS_URL DEBUG=1 LOG_LEVEL=$${LOG_LEVEL:-WARNING} $(BIN)/python manage.py demo

# The whole suite, then the out-of-tree example connector's own kit run. The example is
# installed only for that run: the main suite's tables describe the built-in connectors.
test: install
	$(BIN)/pip uninstall -q -y gateway-connector-quizly >/dev/null 2>&1 || true
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest
	$(BIN)/pip install -q --no-deps -e examples/quizly
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest examples/quizly/tests; status=$$?; \
		$(BIN)/pip uninstall -q -y gateway-connector-quizly >/dev/null 2>&1; exit $$status

lint: install
	$(BIN)/ruff check gateway connectors tests bench examples

migrate: install
	$(BIN)/python manage.py migrate

web: install
	$(BIN)/gunicorn gateway.wsgi:application --bind 0.0.0.0:8000 --workers 2 --threads 4

worker: install
	$(BIN)/celery -A gateway worker --loglevel=INFO --concurrency 4

beat: install
	$(BIN)/celery -A gateway beat --loglevel=INFO

# Starts gunicorn, Celery, PostgreSQL-backed data and the simulators, runs bounded loads on
# loopback, prints a table and writes bench/results/latest.json. Needs PostgreSQL and Redis.
bench: install
	$(BIN)/python -m bench.run $(ARGS)
