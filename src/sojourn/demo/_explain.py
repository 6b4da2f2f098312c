"""What the demo tells a person whose session ended: one sentence per way of ending."""

from __future__ import annotations

from . import _ledger as ledger
from ._pages import duration, when


def ended(ending: ledger.Ending | None, idle_timeout: float, lifetime: float) -> str:
    """Why the session this browser held is gone, for the first page after it ended."""
    if ending is None:
        return (
            "Your browser sent a session cookie that the server no longer knows: that session "
            "has ended. (The demo remembers why sessions ended for an hour, in memory, so after "
            "a restart it cannot say more.) You are anonymous now."
        )
    at = when(ending.at)
    sentences = {
        ledger.SIGNED_OUT: (
            f"You signed out at {at}. The session was deleted from the store and its cookie "
            "cleared; you are anonymous now and nothing is stored for you."
        ),
        ledger.REVOKED: (
            f"This device was signed out from another device at {at} (revoked on the "
            "devices page). Its session was deleted; sign in again to continue."
        ),
        ledger.REVOKED_ALL: (
            f"This device was signed out at {at} by \u201csign out everywhere else\u201d on "
            "another device. Sign in again to continue."
        ),
        ledger.EVICTED: (
            f"This session was ended at {at} because its user has too many sessions; the "
            "oldest was signed out."
        ),
        ledger.EXPIRED_IDLE: (
            f"Your session expired at {at}: it was left idle for longer than "
            f"{duration(idle_timeout)}. Every request pushes that deadline back."
        ),
        ledger.EXPIRED_ABSOLUTE: (
            f"Your session expired at {at}: it reached its absolute lifetime of "
            f"{duration(lifetime)}, which activity does not extend."
        ),
        ledger.EXPIRED_UNKNOWN: f"Your session expired at {at}.",
        ledger.ROTATED_AWAY: (
            f"The session ID this browser sent was replaced at {at}, when its user signed in "
            "(ID rotation): the old ID no longer works, so this request is anonymous."
        ),
    }
    return sentences.get(ending.reason, f"Your session ended at {at}.")


def stale_form(
    ending: ledger.Ending | None,
    form_fingerprint: str,
    has_session: bool,
    idle_timeout: float,
    lifetime: float,
) -> str:
    """Why a POST's token was refused, as far as the server can tell; nothing was done."""
    lead = "Nothing was done: this form belonged to a session that has ended. "
    if ending is not None and ending.reason == ledger.SIGNED_OUT:
        return (
            f"{lead}You signed out at {when(ending.at)} in another tab or window, so nothing is "
            "stored for you now."
        )
    if ending is not None:
        return lead + ended(ending, idle_timeout, lifetime)
    if not form_fingerprint and has_session:
        return (
            "Nothing was done: this page was loaded before your session started (in another "
            "tab?), so its form is out of date. Go back to home for the current page."
        )
    return (
        "Nothing was done: this form's security token does not match your session. It may come "
        "from an old tab, from before a restart of the demo, or from another site."
    )


CROSS_ORIGIN = (
    "Nothing was done: your browser says this form was sent from another site or origin, and "
    "the demo accepts forms only from its own pages."
)

DEAD_COOKIE = (
    "Your browser still holds the old session cookie: the server ignores it, and it is "
    "replaced when you next act."
)

__all__ = ["CROSS_ORIGIN", "DEAD_COOKIE", "ended", "stale_form"]
