"""The demo's pages, composed from :mod:`._pages` parts: home, devices, and a refused form."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .._core.session import SessionInfo
from . import _pages as p
from ._devices import device_name


@dataclass(frozen=True, slots=True)
class Facts:
    """What the home page says about the session (no ID, only its label and times).

    Attributes:
        fingerprint: the session's label; ``None`` when the visitor has no session.
        principal: who is signed in, if anyone.
        created_at: when the session began or its user signed in.
        expires_at: when it ends if left idle.
        absolute_at: when it ends at the latest, active or not.
        rotated_from: the label the session had before sign-in (``""``: it had none).
        now: the time the page is rendered.
        ended: the visitor had a session that has ended (the page says so above).
    """

    fingerprint: str | None
    principal: str | None
    created_at: float
    expires_at: float
    absolute_at: float
    rotated_from: str | None
    now: float
    ended: bool = False


def _session_section(facts: Facts) -> str:
    if facts.fingerprint is None:
        state = "No session now" if facts.ended else "No session yet"
        return (
            f"<h2>Your session</h2><p class='explain' id='no-session'>{state}. This page "
            "stored nothing and set no cookie: a visitor who only reads costs no store call. A "
            "session starts when you act: add something to the cart or sign in.</p>"
        )
    rows = [
        ("fingerprint", f"<code id='fingerprint'>{p.esc(facts.fingerprint)}</code>"),
        ("signed in as", f"<span id='principal'>{p.esc(facts.principal or 'nobody')}</span>"),
        ("signed in at" if facts.principal else "started at", p.esc(p.when(facts.created_at))),
        ("ends if idle", p.countdown(facts.expires_at, facts.now)),
        ("ends at the latest", p.countdown(facts.absolute_at, facts.now)),
    ]
    if facts.rotated_from is not None:
        before = facts.rotated_from or "none (no session before sign-in)"
        rows.append(
            (
                "ID rotation",
                f"before sign-in <code id='before-login'>{p.esc(before)}</code> → now "
                f"<code>{p.esc(facts.fingerprint)}</code>",
            )
        )
    explain = (
        "The fingerprint is a short label derived from the session ID; the ID itself stays in "
        "the HttpOnly cookie. Every request pushes the idle deadline back; the latest one does "
        "not move (until the next sign-in)."
    )
    return f"<h2>Your session</h2>{p.facts(rows)}<p class='demo'>{p.esc(explain)}</p>"


def home(
    site: p.Site,
    facts: Facts,
    cart: Sequence[str],
    users: Iterable[str],
    messages: Iterable[tuple[str, str]] = (),
    second_device: str | None = None,
) -> str:
    """The home page: notices, the session, sign in or out, the cart, the second device."""
    body = [p.notices([text], css) for css, text in messages]
    body.append(_session_section(facts))
    if facts.principal is None:
        hint = (
            "Signing in gives the session a new ID: add something to the cart first, then sign "
            "in, and watch the fingerprint change."
        )
        body.append(p.login_form(site, users, hint))
    body.append(p.cart_section(site, cart))
    if facts.principal is not None:
        body.append(
            "<h2>Devices</h2><p>See where you are signed in, and sign other devices out, on "
            f"<a href='{p.esc(site.base)}/sessions'>your devices</a>.</p>"
        )
        if second_device is not None:
            body.append(p.second_device_link(second_device))
        body.append(f"<h2>Sign out</h2>{p.button_form(site, '/logout', 'sign out')}")
    return p.page(site, "Home", "".join(body))


def _card(site: p.Site, info: SessionInfo, lifetime: float, now: float) -> str:
    title = p.esc(device_name(info.meta.get("user_agent")))
    badge = " <span class='badge'>this device</span>" if info.current else ""
    rows = [
        ("fingerprint", f"<code>{p.esc(info.fingerprint)}</code>"),
        ("signed in at", p.esc(p.when(info.authenticated_at or info.created_at))),
        ("last active", p.esc(p.when(info.last_seen_at))),
        ("ends if idle", p.countdown(info.expires_at, now)),
        ("ends at the latest", p.countdown(info.created_at + lifetime, now)),
        ("IP address", p.esc(info.meta.get("ip", "-"))),
    ]
    if info.current:
        action = "<p class='demo'>To end this one, sign out.</p>"
    else:
        action = p.button_form(site, "/sessions/revoke", "revoke", [("target", info.fingerprint)])
    css = "card current" if info.current else "card"
    return (
        f"<section class='{css}' data-fingerprint='{p.esc(info.fingerprint)}'>"
        f"<h3>{title}{badge}</h3>{p.facts(rows)}{action}</section>"
    )


def devices(
    site: p.Site,
    listing: Sequence[SessionInfo],
    lifetime: float,
    now: float,
    messages: Iterable[tuple[str, str]] = (),
    second_device: str | None = None,
) -> str:
    """The signed-in user's sessions: this device first, then the newest sign-in first."""
    ordered = sorted(
        listing,
        key=lambda i: (not i.current, -(i.authenticated_at or i.created_at), i.fingerprint),
    )
    body = [p.notices([text], css) for css, text in messages]
    body.append(f"<h2>Your devices ({len(ordered)})</h2>")
    body.append(
        "<p class='demo'>Two identical browsers look alike: tell them apart by fingerprint and "
        "sign-in time. Signing a device out deletes its session; its next page says so.</p>"
    )
    body.extend(_card(site, info, lifetime, now) for info in ordered)
    if len(ordered) > 1:
        body.append(
            f"<p>{p.button_form(site, '/sessions/revoke-others', 'sign out everywhere else')}</p>"
        )
    if second_device is not None:
        body.append(p.second_device_link(second_device))
    return p.page(site, "Your devices", "".join(body))


def signed_out_devices(
    site: p.Site, users: Iterable[str], messages: Iterable[tuple[str, str]] = ()
) -> str:
    """The devices page for a visitor who is not signed in: say so and offer to sign in."""
    body = [p.notices([text], css) for css, text in messages]
    body.append(
        "<p class='explain' id='not-signed-in'>You are not signed in, so there are no devices "
        "to show. Sign in to see every session of your user.</p>"
    )
    body.append(p.login_form(site, users))
    return p.page(site, "Your devices", "".join(body))


def refused(site: p.Site, reason: str, users: Iterable[str], signed_in: bool) -> str:
    """A refused form: what happened, and a way on (sign in again, or back home)."""
    body = [p.notices([reason], "ended"), f"<p><a href='{p.esc(site.base)}/'>back to home</a></p>"]
    if not signed_in:
        body.append(p.login_form(site, users, "Sign in again to continue."))
    return p.page(site, "Nothing was done", "".join(body))


__all__ = ["Facts", "devices", "home", "refused", "signed_out_devices"]
