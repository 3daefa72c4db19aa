"""Where the browser tests find Debian's chromium, and what happens when it is missing.

Locally a missing chromium skips the browser tests with a reason; in CI (CI=true) the mark does
not apply and the `browser` fixture fails instead: there a skip would hide a missing install.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI") == "true"
MISSING_REASON = f"{CHROMIUM} is missing: `apt-get install chromium` to run the browser tests"

needs_chromium = pytest.mark.skipif(not IN_CI and not CHROMIUM.exists(), reason=MISSING_REASON)
