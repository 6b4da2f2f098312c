"""The demo's HTML, as small functions. Every interpolated value goes through :func:`esc`.

No template engine: the pages are few and tiny, and plain functions keep the escaping visible.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Sequence

from .._core.session import SessionInfo

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
code { background: #f3f3f3; padding: 0 .25rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
td, th { border-bottom: 1px solid #ddd; padding: .3rem; text-align: left; vertical-align: top; }
.notice { background: #eef7ee; border: 1px solid #9c9; padding: .5rem; }
.error { background: #fbeaea; border: 1px solid #c99; padding: .5rem; }
.demo { color: #a60; font-size: .85rem; }
form.inline { display: inline; }
"""


def esc(value: object) -> str:
    """HTML-escape any value, quotes included (safe in text and in attribute values)."""
    return html.escape(str(value), quote=True)


def when(timestamp: float | None) -> str:
    """A UTC timestamp for tables."""
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def page(title: str, body: str) -> str:
    """The layout around every page. ``body`` must already be escaped HTML."""
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)} · Sojourn demo</title><style>{STYLE}</style></head><body>"
        "<h1>Sojourn demo</h1>"
        "<p><a href='/'>home</a> · <a href='/sessions'>your sessions</a></p>"
        f"{body}</body></html>\n"
    )


def csrf_field(token: str) -> str:
    """The hidden input every POST form carries."""
    return f"<input type='hidden' name='csrf' value='{esc(token)}'>"


def button_form(action: str, label: str, token: str, fields: Sequence[tuple[str, str]] = ()) -> str:
    """A one-button POST form."""
    hidden = "".join(
        f"<input type='hidden' name='{esc(name)}' value='{esc(value)}'>" for name, value in fields
    )
    return (
        f"<form class='inline' method='post' action='{esc(action)}'>{csrf_field(token)}{hidden}"
        f"<button type='submit'>{esc(label)}</button></form>"
    )


def notices(messages: Iterable[str], css: str = "notice") -> str:
    """Escaped notice paragraphs."""
    return "".join(f"<p class='{esc(css)}'>{esc(m)}</p>" for m in messages)


def session_facts(
    fingerprint: str | None,
    created_at: float,
    expires_in: int,
    principal: str | None,
) -> str:
    """The "your session" table of the home page (never the ID itself)."""
    rows = [
        ("fingerprint", fingerprint or "(not stored yet)"),
        ("created", when(created_at)),
        ("expires in", f"{expires_in} s (if left idle)"),
        ("signed in as", principal or "nobody (anonymous)"),
    ]
    cells = "".join(f"<tr><th>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>" for k, v in rows)
    return f"<h2>Your session</h2><table>{cells}</table>"


def login_form(token: str, users: Iterable[str]) -> str:
    """The login form, with the demo users spelled out."""
    names = ", ".join(f"{u}/{u}" for u in users)
    return (
        "<h2>Sign in</h2>"
        f"<p class='demo'>Demo-only users (user/password): {esc(names)}. "
        "Signing in gives the session a new ID: watch the fingerprint change.</p>"
        f"<form method='post' action='/login'>{csrf_field(token)}"
        "<label>user <input name='username' autocomplete='username'></label> "
        "<label>password <input name='password' type='password' "
        "autocomplete='current-password'></label> "
        "<button type='submit'>sign in</button></form>"
    )


def cart_section(token: str, cart: Sequence[str]) -> str:
    """The cart: its items, an add form and a clear button."""
    items = "".join(f"<li>{esc(item)}</li>" for item in cart) or "<li><em>empty</em></li>"
    return (
        "<h2>Cart</h2>"
        f"<ul>{items}</ul>"
        f"<form method='post' action='/cart/add'>{csrf_field(token)}"
        "<input name='item' maxlength='40' placeholder='an item' required> "
        "<button type='submit'>add to cart</button></form> "
        f"{button_form('/cart/clear', 'clear cart', token)}"
    )


def logout_section(token: str) -> str:
    """The sign-out button."""
    return f"<h2>Sign out</h2>{button_form('/logout', 'sign out', token)}"


def sessions_table(token: str, sessions: Sequence[SessionInfo]) -> str:
    """The principal's sessions with revoke buttons."""
    head = (
        "<tr><th>fingerprint</th><th>created</th><th>last seen</th><th>expires</th>"
        "<th>user agent</th><th>IP</th><th></th></tr>"
    )
    rows = []
    for info in sessions:
        action = (
            "<strong>this device</strong>"
            if info.current
            else button_form(
                "/sessions/revoke", "revoke", token, [("fingerprint", info.fingerprint)]
            )
        )
        cells = (
            f"<td><code>{esc(info.fingerprint)}</code></td><td>{esc(when(info.created_at))}</td>"
            f"<td>{esc(when(info.last_seen_at))}</td><td>{esc(when(info.expires_at))}</td>"
            f"<td>{esc(info.meta.get('user_agent', '-'))}</td>"
            f"<td>{esc(info.meta.get('ip', '-'))}</td><td>{action}</td>"
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        f"<h2>Your sessions ({len(sessions)})</h2><table>{head}{''.join(rows)}</table>"
        f"<p>{button_form('/sessions/revoke-others', 'sign out everywhere else', token)}</p>"
    )


__all__ = [
    "STYLE",
    "button_form",
    "cart_section",
    "csrf_field",
    "esc",
    "login_form",
    "logout_section",
    "notices",
    "page",
    "session_facts",
    "sessions_table",
    "when",
]
