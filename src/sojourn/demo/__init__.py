"""The Sojourn demo web application (``sojourn demo``; needs ``pip install 'sojourn[demo]'``)."""

from .app import DEFAULT_STORE_URL as DEFAULT_STORE_URL
from .app import build_demo as build_demo
from .app import create_app as create_app

__all__ = [
    "DEFAULT_STORE_URL",
    "build_demo",
    "create_app",
]
