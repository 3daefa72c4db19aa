"""Where the browser tests find Debian's chromium, and what happens when it is missing.

A missing chromium skips the browser tests with a reason; in CI that skip is a failure
(tests/ci_skips.py), since there it would hide a missing install.
"""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
MISSING_REASON = f"{CHROMIUM} is missing: `apt-get install chromium` to run the browser tests"

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING_REASON)
