"""Session stores. Drivers live in submodules so that importing :mod:`sojourn` needs none.

- :mod:`sojourn.stores.memory` — one process, for tests and development.
- :mod:`sojourn.stores.sqlite` — the embedded default; survives restarts.
- :mod:`sojourn.stores.redis`, :mod:`sojourn.stores.postgres`, :mod:`sojourn.stores.mysql` —
  shared across app servers (extras ``redis``, ``postgres``, ``mysql``).
"""

from .base import (
    AsyncStore as AsyncStore,
)
from .base import (
    Changes as Changes,
)
from .base import (
    Login as Login,
)
from .base import (
    Record as Record,
)
from .base import (
    Renewal as Renewal,
)
from .base import (
    Store as Store,
)

__all__ = [
    "AsyncStore",
    "Changes",
    "Login",
    "Record",
    "Renewal",
    "Store",
]
