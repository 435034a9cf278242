# Two commands for a newcomer: `make run` (set up and run the bot, or its rehearsal without a token)
# and `make test` (set up and test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench simulator check-config clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# With a bot token (environment or .env) the real bot; without one, the rehearsal in a browser.
run: $(STAMP)
	@if $(BIN)/python -c 'import sys; from bot.settings import load_settings as s; \
	t = s().telegram_bot_token; sys.exit(0 if t and t.get_secret_value().strip() else 1)' 2>/dev/null; \
	then $(BIN)/hackbot run; \
	else echo "No TELEGRAM_BOT_TOKEN: starting the rehearsal (hackbot demo)."; $(BIN)/hackbot demo; fi

simulator: $(STAMP)
	$(BIN)/hackbot simulator

check-config: $(STAMP)
	$(BIN)/hackbot check-config $${EVENT_CONFIG:-events/centres-sociaux-connectes-2017.yaml}

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check bot handlers models schedule simulator web

typecheck: $(STAMP)
	$(BIN)/mypy

# Most tests wait on Telegram's rate limits, not on the CPU: they run in 4 workers. Tests that
# assert wall-clock delivery times run afterwards, alone, so that parallel load cannot skew them.
test: lint typecheck
	$(BIN)/python -m pytest -q -n 4 -m "not timing"
	$(BIN)/python -m pytest -q -m timing

# Benchmarks take minutes (they run at Telegram's real rate limits); figures go in BENCHMARKS.md.
bench: $(STAMP)
	for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
