"""Testing helpers shipped with the library, so third-party stores can prove themselves.

Subclass :class:`AsyncStoreContract` (or :class:`StoreContract`) in a pytest module and
implement ``make_store``; every contract in :mod:`sojourn.stores.base` is then tested against
your store, with real concurrency. Requires pytest (and anyio for the async suite).
"""

from ._async.contract import AsyncStoreContract as AsyncStoreContract
from ._clock import FakeClock as FakeClock
from ._sync.contract import StoreContract as StoreContract
