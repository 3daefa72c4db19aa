"""What CI and an operator check before a release: migrations in step, production settings safe."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_migrations_are_in_step_with_the_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_production_settings_pass_the_deploy_check():
    # given: production values, as an operator would set them
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-value-for-the-check",
        "ALLOWED_HOSTS": "track.example.com",
        "PUBLIC_BASE_URL": "https://track.example.com",
        "CACHE_URL": "redis://127.0.0.1:6379/0",  # the check reads the setting, connects nowhere
    }
    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_warns_when_production_counts_rate_limits_per_process():
    # given: production values but no CACHE_URL, so each gunicorn worker has its own counters
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-value-for-the-check",
        "ALLOWED_HOSTS": "track.example.com",
        "PUBLIC_BASE_URL": "https://track.example.com",
    }
    env.pop("CACHE_URL", None)
    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    # then: that warning and no other
    assert result.returncode == 1
    assert (
        "?: (flextracker.W001) The default cache is django.core.cache.backends.locmem.LocMemCache "
        "(one per process)"
    ) in result.stderr
    assert "System check identified 1 issue (0 silenced)." in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "", "ALLOWED_HOSTS": "x"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_a_worker_whose_tasks_would_be_redelivered_while_running_refuses_to_start():
    # given: a retry shorter than the timeout (a running task would be delivered again)
    env = {**os.environ, "Q_TIMEOUT": "300", "Q_RETRY": "180"}
    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    # then
    assert result.returncode != 0
    assert "Q_RETRY must exceed Q_TIMEOUT" in result.stderr


def test_the_wsgi_application_loads_its_views_and_freezes_them_out_of_the_collector():
    # given: the module gunicorn serves, loaded as a worker loads it
    code = (
        "import gc, sys; import flextracker.wsgi;"
        "print(gc.get_freeze_count(), 'ingest.api.orders' in sys.modules)"
    )
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "x"}
    # when
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    # then: Django, the apps and the API views are loaded and frozen, not left to the collector
    frozen, views_loaded = result.stdout.split()
    assert int(frozen) > 50_000 and views_loaded == "True", result.stderr
