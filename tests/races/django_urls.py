"""The race tests' Django routes: the session writes of ``django.contrib.auth`` itself."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path as route

from .harness import AUTH_USER_KEY, GATES

BACKEND_KEY = "_auth_user_backend"
HASH_KEY = "_auth_user_hash"


def view(request: HttpRequest, name: str) -> JsonResponse:
    session: Any = request.session
    params = request.GET.dict()
    data = dict(session.items())  # loads the session, as a view would
    GATES.reach(params.get("gate"))
    if name == "read":
        return JsonResponse({"data": data, "principal": data.get(AUTH_USER_KEY)})
    if name == "write":
        session[params["k"]] = params["v"]
    elif name == "login":  # django.contrib.auth.login
        user = params["user"]
        if AUTH_USER_KEY in session and session[AUTH_USER_KEY] != user:
            session.flush()
        else:
            session.cycle_key()
        session[AUTH_USER_KEY] = user
        session[BACKEND_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_KEY] = "hash-1"
    elif name == "logout":  # django.contrib.auth.logout
        session.flush()
    elif name == "regenerate":
        session.cycle_key()
    elif name == "hash":  # django.contrib.auth.update_session_auth_hash
        session.cycle_key()
        session[HASH_KEY] = "hash-2"
    return JsonResponse({"ok": True})


urlpatterns = [route("<str:name>", view)]
