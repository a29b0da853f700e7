"""Whether this worker takes new calls, as the edge's dispatcher and callers see it.

Kamailio's dispatcher probes every worker with OPTIONS and sends new calls only to
those answering 200. A draining worker (SIGTERM) answers 503 to the probes and to
any new INVITE, so the edge fails the call over to another worker at once, while
requests inside calls in progress (re-INVITE, BYE, ACK, NOTIFY…) go on as before.

Pure: the SIP adapter asks :meth:`Availability.reply_to` for every request that
reaches it and sends the reply it gets, if any.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    reason: str


AVAILABLE = Reply(200, "OK")
DRAINING = Reply(503, "Service Unavailable")


class Availability:
    """Taking calls until :meth:`drain`; there is no way back (the process is ending)."""

    def __init__(self) -> None:
        self._draining = False  # set on the event loop, read on pyVoIP's thread: a plain bool

    def drain(self) -> None:
        self._draining = True

    @property
    def draining(self) -> bool:
        return self._draining

    def reply_to(self, method: str, *, in_dialog: bool) -> Reply | None:
        """The reply to send now instead of handling the request, or ``None`` to handle it."""
        if method == "OPTIONS":
            return DRAINING if self._draining and not in_dialog else AVAILABLE
        if method == "INVITE" and not in_dialog and self._draining:
            return DRAINING
        return None
