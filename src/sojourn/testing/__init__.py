"""Testing helpers shipped with the library, so third-party stores can prove themselves.

Subclass :class:`AsyncStoreContract` (or :class:`StoreContract`) in a pytest module and
implement ``make_store``; every contract in :mod:`sojourn.stores.base` is then tested against
your store, with real concurrency. Mix in :class:`AsyncPrincipalIndexContract`,
:class:`AsyncPurgeContract`, :class:`AsyncCountContract` and :class:`AsyncScanContract` for
the capabilities your store offers (the core contract checks that you did). Requires pytest
(and anyio for the async suite).
"""

from ._async.contract import AsyncCountContract as AsyncCountContract
from ._async.contract import AsyncPrincipalIndexContract as AsyncPrincipalIndexContract
from ._async.contract import AsyncPurgeContract as AsyncPurgeContract
from ._async.contract import AsyncScanContract as AsyncScanContract
from ._async.contract import AsyncStoreContract as AsyncStoreContract
from ._clock import FakeClock as FakeClock
from ._sync.contract import CountContract as CountContract
from ._sync.contract import PrincipalIndexContract as PrincipalIndexContract
from ._sync.contract import PurgeContract as PurgeContract
from ._sync.contract import ScanContract as ScanContract
from ._sync.contract import StoreContract as StoreContract

__all__ = [
    "AsyncCountContract",
    "AsyncPrincipalIndexContract",
    "AsyncPurgeContract",
    "AsyncScanContract",
    "AsyncStoreContract",
    "CountContract",
    "FakeClock",
    "PrincipalIndexContract",
    "PurgeContract",
    "ScanContract",
    "StoreContract",
]
