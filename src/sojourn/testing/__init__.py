"""Testing helpers shipped with the library, so third-party stores can prove themselves.

Subclass :class:`AsyncStoreContract` (or :class:`StoreContract`) in a pytest module and
implement ``make_store``; every contract in :mod:`sojourn.stores.base` is then tested against
your store, with real concurrency. Mix in :class:`AsyncPrincipalIndexContract`,
:class:`AsyncPurgeContract`, :class:`AsyncCountContract` and :class:`AsyncScanContract` for
the capabilities your store offers (the core contract checks that you did), and
:class:`AsyncLifecycleEventsContract` (it includes :class:`AsyncTakeExpiredContract`) for what
lifecycle events need of a store: it runs a manager with hooks over it. Requires pytest (and
anyio for the async suite).
"""

from ._async.contract import AsyncCountContract as AsyncCountContract
from ._async.contract import AsyncPrincipalIndexContract as AsyncPrincipalIndexContract
from ._async.contract import AsyncPurgeContract as AsyncPurgeContract
from ._async.contract import AsyncScanContract as AsyncScanContract
from ._async.contract import AsyncStoreContract as AsyncStoreContract
from ._async.events import AsyncLifecycleEventsContract as AsyncLifecycleEventsContract
from ._async.events import AsyncTakeExpiredContract as AsyncTakeExpiredContract
from ._clock import FakeClock as FakeClock
from ._sync.contract import CountContract as CountContract
from ._sync.contract import PrincipalIndexContract as PrincipalIndexContract
from ._sync.contract import PurgeContract as PurgeContract
from ._sync.contract import ScanContract as ScanContract
from ._sync.contract import StoreContract as StoreContract
from ._sync.events import LifecycleEventsContract as LifecycleEventsContract
from ._sync.events import TakeExpiredContract as TakeExpiredContract

__all__ = [
    "AsyncCountContract",
    "AsyncLifecycleEventsContract",
    "AsyncPrincipalIndexContract",
    "AsyncPurgeContract",
    "AsyncScanContract",
    "AsyncStoreContract",
    "AsyncTakeExpiredContract",
    "CountContract",
    "FakeClock",
    "LifecycleEventsContract",
    "PrincipalIndexContract",
    "PurgeContract",
    "ScanContract",
    "StoreContract",
    "TakeExpiredContract",
]
