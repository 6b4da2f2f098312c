"""Flask integration: ``from sojourn.flask import Sojourn``; ``Sojourn(app, store=...)``."""

from ._integrations.flask import FlaskSession as FlaskSession
from ._integrations.flask import Sojourn as Sojourn
from ._integrations.flask import SojournSessionInterface as SojournSessionInterface
from ._integrations.flask import TaggedJSONCodec as TaggedJSONCodec
from ._integrations.flask import current_session as current_session
from ._integrations.flask import get_manager as get_manager

__all__ = [
    "FlaskSession",
    "Sojourn",
    "SojournSessionInterface",
    "TaggedJSONCodec",
    "current_session",
    "get_manager",
]
