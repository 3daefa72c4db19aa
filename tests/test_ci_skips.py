"""In CI a skip is a failure unless its reason is listed (tests/ci_skips.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci_skips import ALLOWED_IN_CI

PROJECT = Path(__file__).resolve().parent.parent
LISTED_REASON = next(iter(ALLOWED_IN_CI))

SKIPPING_TESTS = f"""
import pytest

def test_needs_a_broker_that_is_down():
    pytest.skip("RabbitMQ is not reachable at amqp://127.0.0.1:5672")

@pytest.mark.skipif(True, reason={LISTED_REASON!r})
def test_runs_on_postgresql_only():
    pass

def test_passes():
    pass
"""


def run_pytest(folder: Path, *, ci: bool) -> subprocess.CompletedProcess:
    """A separate pytest on `folder` with the CI-skip plugin only (no Django, no xdist)."""
    (folder / "test_sample.py").write_text(SKIPPING_TESTS)
    (folder / "pytest.ini").write_text("[pytest]\n")
    environment = {**os.environ, "PYTHONPATH": str(PROJECT), "CI": "true" if ci else "false"}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.ci_skips", "-p", "no:django",
         "-p", "no:xdist", "-p", "no:cacheprovider", "-rs", str(folder)],
        cwd=folder, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("ci", [True, False])
def test_an_unlisted_skip_fails_in_ci_and_only_there(tmp_path, ci):
    # given a test that skips for a reason not listed, and one that skips for a listed reason
    # when pytest runs them in CI, then outside it
    result = run_pytest(tmp_path, ci=ci)

    # then in CI the unlisted skip is a failure that says why; the listed one stays a skip
    summary = result.stdout.strip().splitlines()[-1]
    if ci:
        assert result.returncode == 1, result.stdout
        assert "1 failed, 1 passed, 1 skipped" in summary
        assert "Skipped in CI, where every skip is a failure: RabbitMQ is not reachable" in (
            result.stdout
        )
    else:
        assert result.returncode == 0, result.stdout
        assert "1 passed, 2 skipped" in summary
