"""The fuzzed Django app's one view: it reads, writes, logs in or logs out by path."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def act(request: HttpRequest, action: str) -> HttpResponse:
    session = request.session
    if action == "write":
        session["n"] = int(session.get("n", 0)) + 1
    elif action == "login":
        session["_auth_user_id"] = "1"  # what django.contrib.auth.login stores: a rotation
    elif action == "logout":
        session.flush()
    else:
        session.get("n")
    return HttpResponse("ok")


urlpatterns = [path("<str:action>", act)]
