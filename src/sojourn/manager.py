"""Managers: run the pure engine's plans against a store, sync or async."""

from ._async.manager import AsyncManager as AsyncManager
from ._core.opening import Outcome as Outcome
from ._sync.manager import Manager as Manager

__all__ = [
    "AsyncManager",
    "Manager",
    "Outcome",
]
