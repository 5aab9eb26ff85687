# Dialflow — the two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 5000
PG_TEST_URL ?= postgresql+psycopg://127.0.0.1:5432/test
PYTEST_ARGS ?= -n auto --dist worksteal -q

.PHONY: run test test-sqlite test-postgres lint format i18n bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

## Run the product on the embedded default: SQLite under ./var, background work in-process.
run: $(STAMP)
	$(BIN)/dialflow db upgrade
	$(BIN)/dialflow seed-demo --if-empty
	@echo "Open http://$(HOST):$(PORT) and sign in with a demo login above."
	$(BIN)/dialflow serve --host $(HOST) --port $(PORT)

## Lint, then the whole suite on SQLite and again on PostgreSQL.
test: $(STAMP) lint test-sqlite test-postgres

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-sqlite: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# Under CI=true an unreachable PostgreSQL is a failure; elsewhere the run is skipped with a reason.
test-postgres: $(STAMP)
	@if $(PY) -m dialflow.devtools pg-ready "$(PG_TEST_URL)"; then \
		DIALFLOW_TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "error: PostgreSQL at $(PG_TEST_URL) is unreachable and CI=true"; exit 1; \
	else \
		echo "skipped the PostgreSQL run: $(PG_TEST_URL) is unreachable (set PG_TEST_URL)"; \
	fi

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Extract UI strings, update the zh_CN (zh_Hans_CN) and en catalogs, compile them.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location --sort-output \
		-o web/translations/messages.pot web
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d web/translations

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
