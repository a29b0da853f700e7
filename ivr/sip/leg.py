"""What a call looks like from the asyncio side: a ``CallLeg`` and the events it delivers.

The SIP adapter's threads call the ``_``-prefixed methods; they hand every event
to the event loop with ``call_soon_threadsafe`` — except the caller's audio, which
the media engine delivers from the loop itself (``_audio``). The session calls the
public methods on the loop. Nothing here imports pyVoIP, so the session and its tests
depend only on this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Protocol

_MAX_AUDIO_BACKLOG = 250  # frames (5 s) waiting on the loop before audio is dropped
SIP_CALL_ID_CHARS = 64  # of a caller's Call-ID kept for logs: enough to find it in a trace


def new_call_id() -> str:
    """A call's own id, made by the worker when the INVITE arrives (issue 13, item 7).

    The SIP Call-ID is the caller's choice — any length, control characters, not
    unique: one with a control character lost its intake, a long or non-ASCII one
    was refused by the API, and two callers with the same one shared an idempotency
    key, so the second lost its order. This id (32 hex digits, random) is what topics,
    recording and spool names, API bodies and idempotency keys carry.
    """
    return uuid.uuid4().hex


def printable_call_id(raw: str) -> str:
    """The caller's Call-ID as an attribute for logs: visible ASCII only, truncated."""
    text = "".join(c if "!" <= c <= "~" else "?" for c in raw)
    return text if len(text) <= SIP_CALL_ID_CHARS else text[: SIP_CALL_ID_CHARS - 1] + "~"


@dataclass(frozen=True, slots=True)
class LegDigit:
    key: str


@dataclass(frozen=True, slots=True)
class LegAudio:
    pcm16: bytes  # 20 ms, 8 kHz, 16-bit signed little-endian


@dataclass(frozen=True, slots=True)
class LegPlayed:
    token: object
    stopped: bool


@dataclass(frozen=True, slots=True)
class LegEnded:
    reason: str  # "remote" (BYE), "local" (we hung up), "cancelled"


@dataclass(frozen=True, slots=True)
class LegTransfer:
    """Progress of a blind transfer (REFER, RFC 3515).

    ``stage``: ``"accepted"`` (202 to the REFER), ``"trying"`` (NOTIFY 1xx),
    ``"answered"`` (NOTIFY 2xx: the target took the call), ``"failed"`` (REFER
    refused, or NOTIFY with a final non-2xx). ``code`` is the SIP status.
    """

    stage: str
    code: int


LegEvent = LegDigit | LegAudio | LegPlayed | LegEnded | LegTransfer


class _Signalling(Protocol):
    """What the SIP side of a call offers the leg (implemented in the pyVoIP adapter)."""

    def hang_up_locally(self) -> None: ...
    def refer(self, target: str, headers: dict[str, str]) -> None: ...


class _Media(Protocol):
    def append(self, pcm16: bytes, token: object) -> None: ...
    def clear(self) -> None: ...


class CallLeg:
    """One answered call as the session sees it. Public methods are called on the loop.

    ``call_id`` is the worker's own id for the call (``new_call_id``); ``sip_call_id`` the
    caller's Call-ID, made printable and short, only ever shown (logs), never used as a key.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        call_id: str,
        caller: str,
        callee: str,
        sip_call_id: str = "",
    ):
        self.call_id = call_id
        self.sip_call_id = printable_call_id(sip_call_id)
        self.caller = caller
        self.callee = callee
        self.codec = ""
        # LegEvents from the SIP threads; the session also posts its own outcomes here.
        self.events: asyncio.Queue[object] = asyncio.Queue()
        self.cancelled = False
        self._loop = loop
        self._listening = False
        self._audio_backlog = 0
        self._ended = False
        self._playback: _Media | None = None
        self._signalling: _Signalling | None = None

    # -- called by the session (event loop) --
    def play(self, pcm16: bytes, token: object) -> None:
        if self._playback is None:
            self._post(LegPlayed(token, stopped=True))
            return
        self._playback.append(pcm16, token)

    def stop_playback(self) -> None:
        if self._playback is not None:
            self._playback.clear()

    def listen(self, on: bool) -> None:
        """Deliver the caller's audio as ``LegAudio`` events (only while needed)."""
        self._listening = on

    def hangup(self) -> None:
        if self._signalling is not None and not self._ended:
            self._signalling.hang_up_locally()

    def transfer(self, target: str, headers: dict[str, str] | None = None) -> None:
        """Blind-transfer the caller to ``target`` (a SIP URI); progress comes as ``LegTransfer``.

        ``headers`` travel to the target inside the Refer-To URI (RFC 3261 §19.1.5).
        """
        if self._signalling is None or self._ended:
            self._post(LegTransfer("failed", 481))
            return
        self._signalling.refer(target, headers or {})

    def audio_taken(self) -> None:
        self._audio_backlog -= 1

    @property
    def wants_audio(self) -> bool:
        """Whether ``_audio`` would deliver a frame now (the media engine decodes only then)."""
        return self._listening and self._audio_backlog < _MAX_AUDIO_BACKLOG

    # -- called from the SIP threads (and the media engine on the loop) --
    def _post(self, event: LegEvent) -> None:
        if isinstance(event, LegEnded):
            if self._ended:
                return
            self._ended = True
        with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
            self._loop.call_soon_threadsafe(self.events.put_nowait, event)

    def _audio(self, pcm16: bytes) -> None:
        """A frame of the caller's audio, from the media engine — on the loop, so it is queued
        directly rather than through ``call_soon_threadsafe`` (a self-pipe write per frame)."""
        if not self.wants_audio:
            return
        self._audio_backlog += 1
        self.events.put_nowait(LegAudio(pcm16))
