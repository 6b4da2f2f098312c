"""Views touching ``request.session`` the ways the Django engine tests need."""

from __future__ import annotations

from typing import Any

from django.contrib import auth, messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from sojourn import TooManySessions


def read(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": request.session.get("user")})


def write(request: HttpRequest) -> HttpResponse:
    for key, value in request.GET.items():
        request.session[key] = value
    return HttpResponse("ok")


def everything(request: HttpRequest) -> JsonResponse:
    return JsonResponse(dict(request.session.items()))


def login(request: HttpRequest) -> HttpResponse:
    user = User.objects.get(username=request.GET["user"])
    auth.login(request, user)
    return HttpResponse("ok")


def login_checked(request: HttpRequest) -> HttpResponse:
    """``auth.login`` saved at once, so the view learns whether the cap refused it (SEC-63)."""
    user = User.objects.get(username=request.GET["user"])
    auth.login(request, user)
    try:
        request.session.save()
    except TooManySessions:
        auth.logout(request)  # flushes: the refused login leaves nothing behind
        return HttpResponse("too many sessions", status=409)
    return HttpResponse("ok")


def logout(request: HttpRequest) -> HttpResponse:
    auth.logout(request)
    return HttpResponse("ok")


def whoami(request: HttpRequest) -> JsonResponse:
    user: Any = request.user
    return JsonResponse({"user": user.username if user.is_authenticated else None})


def cycle(request: HttpRequest) -> HttpResponse:
    request.session.cycle_key()
    return HttpResponse("ok")


def flush(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponse("ok")


def browser_session(request: HttpRequest) -> HttpResponse:
    request.session["user"] = "alice"
    request.session.set_expiry(0)
    return HttpResponse("ok")


def flash(request: HttpRequest) -> HttpResponse:
    messages.error(request, request.GET.get("m", "oops"))
    return HttpResponse("ok")


def flashed(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {"messages": [[m.level_tag, str(m)] for m in messages.get_messages(request)]}
    )


def password(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    user.set_password(request.GET["to"])
    user.save()
    auth.update_session_auth_hash(request, user)
    return HttpResponse("ok")


def untouched(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")  # the session is never looked at


def fail(request: HttpRequest) -> HttpResponse:
    request.session["boom"] = "1"
    return HttpResponse("no", status=500)


urlpatterns = [
    path("read", read),
    path("write", write),
    path("all", everything),
    path("login", login),
    path("login-checked", login_checked),
    path("logout", logout),
    path("whoami", whoami),
    path("cycle", cycle),
    path("flush", flush),
    path("browser-session", browser_session),
    path("fail", fail),
    path("flash", flash),
    path("flashed", flashed),
    path("password", password),
    path("untouched", untouched),
]
