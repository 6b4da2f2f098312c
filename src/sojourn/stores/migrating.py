"""Moving sessions from one store to another with nobody logged out.

- :class:`AsyncMigratingStore` / :class:`MigratingStore` — what the app runs on during the
  cut-over: the new store in front, the old one behind (``docs/migration.md``).
- :func:`async_copy_sessions` / :func:`copy_sessions` — copy every live session across
  (what ``sojourn migrate`` runs); idempotent and resumable.
- :func:`async_verify_copy` / :func:`verify_copy` — counts and a sample compared.
"""

from ._async.copying import copy_sessions as async_copy_sessions
from ._async.copying import verify_copy as async_verify_copy
from ._async.migrating import AsyncMigratingStore as AsyncMigratingStore
from ._migration import CopyResult as CopyResult
from ._migration import Mismatch as Mismatch
from ._migration import VerifyResult as VerifyResult
from ._migration import is_marker as is_marker
from ._sync.copying import copy_sessions as copy_sessions
from ._sync.copying import verify_copy as verify_copy
from ._sync.migrating import MigratingStore as MigratingStore

__all__ = [
    "AsyncMigratingStore",
    "CopyResult",
    "MigratingStore",
    "Mismatch",
    "VerifyResult",
    "async_copy_sessions",
    "async_verify_copy",
    "copy_sessions",
    "is_marker",
    "verify_copy",
]
