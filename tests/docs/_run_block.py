"""Run one documentation block as a program, then drive the app it defines, if any.

``python -m tests.docs._run_block FILE [--root-200]``: the file runs as a module not named
``__main__`` (so a block's ``if __name__ == "__main__":`` server start is not taken), and an
``app`` or ``application`` it leaves behind is sent ``GET /`` through its framework's test
client over https (the default ``__Host-`` cookie needs a secure origin). Prints
``app: <kind> GET / -> <status>`` and exits 1 on a 5xx, or on anything but 200 with
``--root-200`` (the quickstarts promise a ``/`` route).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from typing import Any

__all__ = ["drive", "main"]


def _is_asgi(app: Any) -> bool:
    call = app if inspect.isfunction(app) else getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)


def drive(namespace: dict[str, Any]) -> tuple[str, int] | None:
    """Send ``GET /`` to the block's app; its kind and the status, or None without an app."""
    app = namespace.get("application", namespace.get("app"))
    django = sys.modules.get("django.conf")
    if django is not None and django.settings.configured and "urlpatterns" in namespace:
        import django as django_package
        from django.test import Client
        from django.test.utils import setup_test_environment

        django_package.setup()
        setup_test_environment()
        return "django", Client().get("/", secure=True).status_code
    if app is None or not callable(app):
        return None
    flask = sys.modules.get("flask")
    if flask is not None and isinstance(app, flask.Flask):
        return "flask", app.test_client().get("/", base_url="https://localhost").status_code
    if _is_asgi(app):
        from starlette.testclient import TestClient

        with TestClient(app, base_url="https://testserver") as client:
            return "asgi", client.get("/").status_code
    from werkzeug.test import Client as WSGIClient

    return "wsgi", WSGIClient(app).get("/", base_url="https://localhost").status_code


def main(argv: list[str]) -> int:
    # a real module in sys.modules, so a block may name itself (Django's ROOT_URLCONF=__name__)
    spec = importlib.util.spec_from_file_location("__docs__", argv[0])
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["__docs__"] = module
    spec.loader.exec_module(module)
    namespace = vars(module)
    driven = drive(namespace)
    if driven is None:
        print("no app")
        return 0
    kind, status = driven
    print(f"app: {kind} GET / -> {status}")
    if status >= 500 or ("--root-200" in argv and status != 200):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
