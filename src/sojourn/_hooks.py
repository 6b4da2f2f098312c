"""Checks on lifecycle-event hooks, shared by the managers and the adapters' options.

Outside the core because telling a coroutine function from a plain one needs :mod:`inspect`.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from ._core.errors import ConfigurationError


def hook_name(hook: object) -> str:
    """A hook's name for messages and logs: its qualified name, or its type's (an object)."""
    name = getattr(hook, "__qualname__", None)
    return name if isinstance(name, str) else type(hook).__qualname__


def check_hooks(hooks: Sequence[object], *, awaits: bool) -> None:
    """Refuse what cannot be a hook: anything not callable, and, for a manager that cannot
    await (``awaits=False``, the sync one), a coroutine function, which it would only call
    without ever running.

    Raises:
        ConfigurationError: naming the hook.
    """
    for hook in hooks:
        if not callable(hook):
            raise ConfigurationError(f"hooks must be callables, not {type(hook).__name__}")
        if not awaits and (
            inspect.iscoroutinefunction(hook)
            or inspect.iscoroutinefunction(getattr(hook, "__call__", None))  # noqa: B004
        ):
            raise ConfigurationError(
                f"hook {hook_name(hook)} is async: a sync manager (WSGI, Flask, Django) can "
                "only call plain functions"
            )


__all__ = ["check_hooks", "hook_name"]
