"""The demo's HTML, as small functions. Every interpolated value goes through :func:`esc`.

No template engine: the pages are few and tiny, and plain functions keep the escaping visible.
The layout is one column that reads at phone width; lists of sessions are cards, not tables.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

STYLE = """
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 1.5rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.4rem; margin-bottom: .25rem; } h2 { font-size: 1.1rem; margin-top: 1.75rem; }
nav a { margin-right: .75rem; }
code { background: #f3f3f3; padding: 0 .25rem; word-break: break-all; }
dl.facts { display: grid; grid-template-columns: minmax(7rem, max-content) 1fr; gap: .2rem .8rem;
           margin: .5rem 0; }
dl.facts dt { color: #555; } dl.facts dd { margin: 0; }
.notice, .error, .ended, .explain { padding: .5rem .75rem; border-radius: .3rem; margin: .6rem 0; }
.notice { background: #eef7ee; border: 1px solid #9c9; }
.error { background: #fbeaea; border: 1px solid #c99; }
.ended { background: #fff6e0; border: 1px solid #db9; }
.explain { background: #eef3fb; border: 1px solid #9ac; }
.demo { color: #a60; font-size: .9rem; }
.card { border: 1px solid #ccc; border-radius: .4rem; padding: .6rem .8rem; margin: .6rem 0; }
.card.current { border-color: #6a6; background: #f6fbf6; }
.card h3 { font-size: 1rem; margin: 0 0 .3rem; }
.badge { white-space: nowrap; font-size: .8rem; background: #6a6; color: #fff; border-radius: .3rem;
         padding: 0 .35rem; margin-left: .3rem; }
form.inline { display: inline; }
form.login label { display: inline-block; margin: .2rem .5rem .2rem 0; }
button, .button { font: inherit; padding: .25rem .7rem; }
@media (max-width: 30rem) {
  dl.facts { grid-template-columns: 1fr; } dl.facts dd { margin-bottom: .3rem; }
}
"""


@dataclass(frozen=True, slots=True)
class Site:
    """What every page of one "device" needs: where it is mounted and what its forms carry.

    Attributes:
        base: the path prefix (``""`` for the first device, ``"/device2"`` for the second).
        token: the CSRF token for this page's forms.
        fingerprint: the label of the session the forms are made for (``""`` if none), so a
            form that comes back after that session ended can say what happened to it.
        label: the device's name in the header, if it is not the first device.
    """

    base: str
    token: str
    fingerprint: str = ""
    label: str = ""


def esc(value: object) -> str:
    """HTML-escape any value, quotes included (safe in text and in attribute values)."""
    return html.escape(str(value), quote=True)


def when(timestamp: float | None) -> str:
    """A UTC time for people: ``14:03:12 UTC (2026-12-01)``."""
    if timestamp is None:
        return "-"
    return time.strftime("%H:%M:%S UTC (%Y-%m-%d)", time.gmtime(timestamp))


def duration(seconds: float) -> str:
    """``1 h 02 min``, ``29:59``: a remaining time, as the countdown script shows it too."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes:02d}:{secs:02d}"


def countdown(deadline: float, now: float) -> str:
    """A deadline and the time left, which ``/demo.js`` keeps counting down in the page.

    Rounded up, so the page never says "now" before the deadline has really passed.
    """
    return (
        f"{esc(when(deadline))}, in <span class='countdown' "
        f"data-deadline='{math.ceil(deadline)}'>"
        f"{esc(duration(deadline - now))}</span>"
    )


def page(site: Site, title: str, body: str) -> str:
    """The layout around every page. ``body`` must already be escaped HTML."""
    label = f" — <span class='demo'>{esc(site.label)}</span>" if site.label else ""
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)} · Sojourn demo</title><style>{STYLE}</style>"
        "<script src='/demo.js' defer></script></head><body>"
        f"<h1>Sojourn demo{label}</h1>"
        f"<nav><a href='{esc(site.base)}/'>home</a> "
        f"<a href='{esc(site.base)}/sessions'>your devices</a></nav>"
        f"<main>{body}</main></body></html>\n"
    )


def hidden(name: str, value: str) -> str:
    """One hidden input."""
    return f"<input type='hidden' name='{esc(name)}' value='{esc(value)}'>"


def form_fields(site: Site) -> str:
    """The hidden inputs every POST form carries: the token and the session's label."""
    return hidden("csrf", site.token) + hidden("fp", site.fingerprint)


def button_form(site: Site, action: str, label: str, fields: Sequence[tuple[str, str]] = ()) -> str:
    """A one-button POST form."""
    extra = "".join(hidden(name, value) for name, value in fields)
    return (
        f"<form class='inline' method='post' action='{esc(site.base + action)}'>"
        f"{form_fields(site)}{extra}<button type='submit'>{esc(label)}</button></form>"
    )


def notices(messages: Iterable[str], css: str = "notice") -> str:
    """Escaped notice paragraphs (``notice``, ``error``, ``ended`` or ``explain``)."""
    return "".join(f"<p class='{esc(css)}' role='status'>{esc(m)}</p>" for m in messages)


def facts(rows: Iterable[tuple[str, str]]) -> str:
    """A definition list; the values must already be escaped HTML."""
    cells = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f"<dl class='facts'>{cells}</dl>"


def login_form(site: Site, users: Iterable[str], hint: str = "") -> str:
    """The sign-in form, with the demo users spelled out."""
    names = ", ".join(f"{u}/{u}" for u in users)
    hint_html = f" {esc(hint)}" if hint else ""
    return (
        "<h2>Sign in</h2>"
        f"<p class='demo'>Demo-only users (user/password): {esc(names)}.{hint_html}</p>"
        f"<form class='login' method='post' action='{esc(site.base)}/login'>{form_fields(site)}"
        "<label>user <input name='username' autocomplete='username' required></label>"
        "<label>password <input name='password' type='password' "
        "autocomplete='current-password' required></label> "
        "<button type='submit'>sign in</button></form>"
    )


def cart_section(site: Site, cart: Sequence[str]) -> str:
    """The cart: its items, an add form and a clear button."""
    items = "".join(f"<li>{esc(item)}</li>" for item in cart) or "<li><em>empty</em></li>"
    clear = button_form(site, "/cart/clear", "clear cart") if cart else ""
    return (
        "<h2>Cart</h2>"
        f"<ul id='cart'>{items}</ul>"
        f"<form method='post' action='{esc(site.base)}/cart/add'>{form_fields(site)}"
        "<input name='item' maxlength='40' placeholder='an item' required "
        "aria-label='item'> <button type='submit'>add to cart</button></form> "
        f"{clear}"
    )


def second_device_link(cookie_name: str) -> str:
    """The one-click second device: a new tab on the other mount, with its own cookie."""
    return (
        "<p><a class='button' id='second-device' href='/device2/' target='_blank' "
        "rel='noopener'>open a second device</a> <span class='demo'>(a new tab with a session "
        f"of its own: cookie <code>{esc(cookie_name)}</code> on path <code>/device2</code>, so "
        "one browser can be two devices; sign in there, then revoke it from here)</span></p>"
    )


__all__ = [
    "STYLE",
    "Site",
    "button_form",
    "cart_section",
    "countdown",
    "duration",
    "esc",
    "facts",
    "form_fields",
    "hidden",
    "login_form",
    "notices",
    "page",
    "second_device_link",
    "when",
]
