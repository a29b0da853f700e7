"""Whether this worker takes new calls, as the edge's dispatcher and callers see it.

Kamailio's dispatcher probes every worker with OPTIONS and sends new calls only to
those answering 200. A draining worker (SIGTERM) answers 503 to the probes and to
any new INVITE, so the edge fails the call over to another worker at once, while
requests inside calls in progress (re-INVITE, BYE, ACK, NOTIFY…) go on as before.

Admission control (issue 13, item 2): a worker at its ``max_calls``, or with no free
RTP port, answers a new INVITE 503 with ``Retry-After`` at once — before ringing and
before any media port is taken — and its probes say the same, so the edge sends the
next calls elsewhere until it has room again. A flood then costs a worker one short
reply per INVITE instead of a 180, a port and a 486 a second later.

Pure: the SIP adapter asks :meth:`Availability.reply_to` for every request that
reaches it, with its current load, and sends the reply it gets, if any.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Seconds a full worker asks to be left alone (RFC 3261 §20.33); calls last minutes, but
#: one ending frees a place, so the edge may try again soon.
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    reason: str
    retry_after: int | None = None  # seconds, for a Retry-After header


AVAILABLE = Reply(200, "OK")
DRAINING = Reply(503, "Service Unavailable")
FULL = Reply(503, "Service Unavailable", retry_after=RETRY_AFTER_SECONDS)


class Availability:
    """Taking calls until :meth:`drain` (no way back: the process is ending), and only as
    many at once as ``max_calls`` (``None``: as many as there are RTP ports)."""

    def __init__(self, max_calls: int | None = None) -> None:
        self.max_calls = max_calls
        self._draining = False  # set on the event loop, read on pyVoIP's thread: a plain bool

    def drain(self) -> None:
        self._draining = True

    @property
    def draining(self) -> bool:
        return self._draining

    def full(self, calls: int, free_ports: int) -> bool:
        """No room for another call: at ``max_calls``, or no RTP port left to give it."""
        return free_ports <= 0 or (self.max_calls is not None and calls >= self.max_calls)

    def reply_to(
        self, method: str, *, in_dialog: bool, calls: int = 0, free_ports: int = 1
    ) -> Reply | None:
        """The reply to send now instead of handling the request, or ``None`` to handle it.

        ``calls``: calls in progress, ringing ones included; ``free_ports``: RTP ports left.
        """
        if in_dialog or method not in ("OPTIONS", "INVITE"):
            return AVAILABLE if method == "OPTIONS" else None
        if self._draining:
            return DRAINING
        if self.full(calls, free_ports):
            return FULL
        return AVAILABLE if method == "OPTIONS" else None
