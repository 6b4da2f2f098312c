"""Stores seen through a metrics observer (each call timed by operation, errors by kind).

The managers wrap their store in one of these when given ``metrics=``; see
:mod:`sojourn.metrics`.
"""

from ._async.observed import AsyncObservedStore as AsyncObservedStore
from ._sync.observed import ObservedStore as ObservedStore

__all__ = ["AsyncObservedStore", "ObservedStore"]
