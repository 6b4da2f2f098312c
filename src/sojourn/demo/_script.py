"""The demo's only script: it keeps the deadlines on a page counting down, once a second.

Served from ``/demo.js`` so the Content-Security-Policy can stay ``script-src 'self'`` (no
inline script). The server renders the same text first, so a page reads right without it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

SCRIPT = """"use strict";
(function () {
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function show(left) {
    if (left <= 0) { return "now: reload the page to see what happened"; }
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    return h ? h + " h " + pad(m) + " min" : pad(m) + ":" + pad(s);
  }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll(".countdown").forEach(function (el) {
      el.textContent = show(Math.ceil(Number(el.getAttribute("data-deadline")) - now));
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
"""


async def script(request: Request) -> Response:
    """``GET /demo.js``."""
    return Response(
        SCRIPT,
        media_type="text/javascript",
        headers={"cache-control": "no-cache", "x-content-type-options": "nosniff"},
    )


__all__ = ["SCRIPT", "script"]
