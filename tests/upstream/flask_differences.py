"""Flask tests that pin behaviour Sojourn differs from on purpose, with the reason for each.

They are documented in docs/frameworks/flask.md and run as strict expected failures, so a
change that made one pass (or fail for another reason) is noticed.
"""

from __future__ import annotations

NO_SECRET_KEY = (
    "Sojourn's server-side session is not signed with SECRET_KEY: it works without one "
    "(Flask's signed cookie gives a NullSession) and rotating the key does not log users out "
    "(use Manager.revoke_all or purge); documented in docs/frameworks/flask.md"
)
EXPECTED_DIFFERENCES = {
    "test_basic.py::test_missing_session": NO_SECRET_KEY,
    "test_basic.py::test_session_secret_key_fallbacks": NO_SECRET_KEY,
    "test_testing.py::test_session_transactions_no_null_sessions": NO_SECRET_KEY,
}
