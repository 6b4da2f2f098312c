"""Sojourn: real server-side sessions for every Python web application.

The dependency-free public API lives here. Stores with drivers and framework integrations are
imported from their own submodules (``sojourn.stores.redis``, ``sojourn.asgi`` …), so importing
``sojourn`` needs no extra.
"""

from ._core.binding import Binding as Binding
from ._core.codec import JSON as JSON
from ._core.codec import CodecLimits as CodecLimits
from ._core.codec import JSONCodec as JSONCodec
from ._core.codec import ValueCodec as ValueCodec
from ._core.cookies import CookieSettings as CookieSettings
from ._core.errors import ConfigurationError as ConfigurationError
from ._core.errors import CorruptSession as CorruptSession
from ._core.errors import ReadOnlySession as ReadOnlySession
from ._core.errors import ResponseStarted as ResponseStarted
from ._core.errors import SessionEnded as SessionEnded
from ._core.errors import SessionError as SessionError
from ._core.errors import SessionExists as SessionExists
from ._core.errors import SessionGone as SessionGone
from ._core.errors import SessionRotated as SessionRotated
from ._core.errors import SessionTooLarge as SessionTooLarge
from ._core.errors import StoreUnavailable as StoreUnavailable
from ._core.errors import TimeoutTooLong as TimeoutTooLong
from ._core.errors import UnencodableValue as UnencodableValue
from ._core.events import AsyncEventHook as AsyncEventHook
from ._core.events import EventHook as EventHook
from ._core.events import SessionEvent as SessionEvent
from ._core.ids import fingerprint as fingerprint
from ._core.ids import new_session_id as new_session_id
from ._core.plan import Engine as Engine
from ._core.policy import Policy as Policy
from ._core.session import Session as Session
from ._core.session import SessionInfo as SessionInfo
from ._core.transport import CookieTransport as CookieTransport
from ._core.transport import HeaderTransport as HeaderTransport
from ._core.transport import QueryTransport as QueryTransport
from ._core.transport import Transport as Transport
from .manager import AsyncManager as AsyncManager
from .manager import Manager as Manager
from .stores.base import AsyncStore as AsyncStore
from .stores.base import Changes as Changes
from .stores.base import Record as Record
from .stores.base import Renewal as Renewal
from .stores.base import Store as Store
from .stores.memory import AsyncMemoryStore as AsyncMemoryStore
from .stores.memory import MemoryStore as MemoryStore

__version__ = "0.1.0"

__all__ = [
    "JSON",
    "AsyncEventHook",
    "AsyncManager",
    "AsyncMemoryStore",
    "AsyncStore",
    "Binding",
    "Changes",
    "CodecLimits",
    "ConfigurationError",
    "CookieSettings",
    "CookieTransport",
    "CorruptSession",
    "Engine",
    "EventHook",
    "HeaderTransport",
    "JSONCodec",
    "Manager",
    "MemoryStore",
    "Policy",
    "QueryTransport",
    "ReadOnlySession",
    "Record",
    "Renewal",
    "ResponseStarted",
    "Session",
    "SessionEnded",
    "SessionError",
    "SessionEvent",
    "SessionExists",
    "SessionGone",
    "SessionInfo",
    "SessionRotated",
    "SessionTooLarge",
    "Store",
    "StoreUnavailable",
    "TimeoutTooLong",
    "Transport",
    "UnencodableValue",
    "ValueCodec",
    "fingerprint",
    "new_session_id",
]
