"""Merging a commit's headers into a response's own, the same way for every adapter.

``Vary`` is merged (never replaced) so the application's own values survive; the library's
``Cache-Control`` replaces the application's on responses that issue or clear an ID, because a
shared cache must never store a response that carries someone's session; ``Set-Cookie`` lines
are appended one per header, never folded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def merge_response_headers(
    existing: Sequence[tuple[str, str]],
    added: Iterable[tuple[str, str]],
    vary: str | None,
) -> list[tuple[str, str]]:
    """The response headers after a commit.

    Args:
        existing: the application's headers, as ``(name, value)``; names in any case.
        added: headers from the commit (lower-case names).
        vary: a request header to add to ``Vary``, if the session was used.
    """
    added = list(added)
    replaced = {name for name, _ in added if name == "cache-control"}
    merged = [(n, v) for n, v in existing if n.lower() not in replaced]
    if vary:
        vary_lines = [i for i, (n, _) in enumerate(merged) if n.lower() == "vary"]
        present: set[str] = set()
        for i in vary_lines:
            present |= _tokens(merged[i][1])
        if "*" not in present and vary.lower() not in present:
            if vary_lines:
                i = vary_lines[0]
                name, value = merged[i]
                merged[i] = (name, f"{value}, {vary}" if value.strip() else vary)
            else:
                merged.append(("vary", vary))
    merged.extend(added)
    return merged


__all__ = [
    "merge_response_headers",
]
