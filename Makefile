# flexTracker — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT  # links printed and emailed follow the port served (flextracker/settings.py)

.PHONY: install run test lint format worker migrate demo bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Local settings for development: DEBUG on, SQLite. Real environment variables win over this file.
.env:
	cp .env.example .env

install: $(VENV)/.installed .env

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

# Serves the site and the background worker together; Ctrl-C stops both.
run: demo
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) manage.py qcluster & \
	$(PY) manage.py runserver 0.0.0.0:$(PORT)

worker: install
	$(PY) manage.py qcluster

test: install
	$(PY) -m pytest

# Benchmarks (docs/benchmarks.md): PostgreSQL and gunicorn. The first run generates the
# 1,000,000-order database flextracker_1m (7–10 min, ~8 GiB of disk); later runs reuse it.
bench: install
	$(PY) bench/generate.py
	$(PY) bench/ingest.py
	$(PY) bench/poller.py
	$(PY) bench/page.py
	$(PY) bench/search.py
	$(PY) bench/notifications.py
	$(PY) bench/file_channel.py
	$(PY) bench/queue_channel.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports  # the import direction between apps (pyproject.toml)

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache db.sqlite3
