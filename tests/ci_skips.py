"""In CI a skipped test is a failure unless its reason is listed below (DEVELOPERS.md).

A skip hides what did not run: a broker that was down, a browser that was not installed. Locally a
skip says why and moves on; in CI (CI=true) it fails, unless CI runs that test elsewhere.
"""

import os

import pytest

# The reason a test gives when it skips → why CI may skip it.
ALLOWED_IN_CI = {
    "row locks and concurrent writers need PostgreSQL": (
        "CI runs the whole suite on PostgreSQL too, where these tests run"
    ),
    "a streaming replica needs DATABASE_REPLICA_URL (.ci/replica starts one)": (
        ".ci/run calls .ci/replica, which starts a standby of CI's PostgreSQL and runs them on it"
    ),
}


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def skip_reason(report: pytest.TestReport) -> str:
    _path, _line, message = report.longrepr
    return message.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (in_ci() and report.skipped and isinstance(report.longrepr, tuple)):
        return
    reason = skip_reason(report)
    if reason not in ALLOWED_IN_CI:
        report.outcome = "failed"
        report.longrepr = (
            f"Skipped in CI, where every skip is a failure: {reason}\n"
            "Make it run in CI (.ci/run starts and installs what tests need), or list its reason "
            "with why in tests/ci_skips.py ALLOWED_IN_CI."
        )
