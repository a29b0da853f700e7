"""The pyVoIP 1.6.8 adapter: the only module of the project that imports pyVoIP.

pyVoIP does SIP signalling (REGISTER at the edge, answering INVITEs, BYE) in
its own threads. This module fixes, by subclassing, the defects listed in
``shared/docs/pyvoip-notes.md`` that the hotline's call path hits, and stops
pyVoIP's threads here: every call becomes a :class:`CallLeg` whose events are
delivered on the asyncio loop (``call_soon_threadsafe``).

Fixes (notes' defect numbers in brackets):

* Only datagrams from the configured proxy reach call handling [14].
* Call-IDs are random UUIDs, not a hash of a per-process counter [12].
* CANCEL of a ringing call answers 200 and 487, and the call is never answered [9].
* RTP is not pyVoIP's at all: ``ivr.sip.media`` runs every call's stream on the
  event loop — hostile packets are dropped, never fatal [2]; received audio is
  handed on frame by frame instead of a buffer that grows without bound [3];
  PCMA is sent A-law encoded [1]; sequence numbers and timestamps wrap [5];
  one pacer sends every stream on an absolute 20 ms schedule, no threads [4];
  audio from any address *and port* but the one in the SDP is ignored [14], and one
  SSRC is heard at a time, so a stale stream on a reused port never reaches a new call.
* A re-INVITE keeps the call's stream (and follows a new address) [10].
* In-dialog requests (REFER for blind transfer, BYE) carry the route set and our
  own CSeq; NOTIFYs report the transfer's progress [13].
* SDP and headers are normalised into what pyVoIP's parser survives, or the
  datagram is rejected (``ivr.sip.normalise``) [6, 7, 8].
* RTP ports come from a locked free-list and go back to it when a call ends [11].
* No thread per call: pyVoIP would answer each call from a thread of its own,
  started 1 s after the 180 and kept for the whole call. Here the INVITE only
  schedules the answer on the event loop (``RING_SECONDS`` later, so a CANCEL
  can still stop it) and the call runs as an asyncio task. The SIP socket is
  read on the loop too (pyVoIP polled it from a thread every 10 ms): a worker
  has the same threads at 300 calls as at 1, and only the loop wants the GIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import pyVoIP.VoIP  # must come before pyVoIP.SIP (circular import in pyVoIP)
from pyVoIP import RTP, SIP
from pyVoIP.VoIP.VoIP import CallState, InvalidStateError, NoPortsAvailableError

from ivr.errors import IvrError
from ivr.sip.availability import Availability
from ivr.sip.dialog import Dialog, refer_to, split_route, uri_of
from ivr.sip.dialog import request as dialog_request
from ivr.sip.leg import (
    CallLeg,
    LegAudio,
    LegDigit,
    LegEnded,
    LegEvent,
    LegPlayed,
    LegTransfer,
    new_call_id,
    printable_call_id,
)
from ivr.sip.media import MediaEngine, Playback, RtpStream, playback_for
from ivr.sip.normalise import SIPFRAG_HEADER, SipRefused, SipRejected, normalise

__all__ = [
    "CallLeg",
    "LegAudio",
    "LegDigit",
    "LegEnded",
    "LegEvent",
    "LegPlayed",
    "LegTransfer",
    "SipAdapterError",
    "SipFrontEnd",
    "parse_datagram",
]

log = logging.getLogger("ivr.sip")

# pyVoIP's parser refuses any method outside this list; we answer OPTIONS (the edge's
# dispatcher probes workers with it) and NOTIFY (transfer progress) ourselves.
for _method in ("OPTIONS", "NOTIFY"):
    if _method not in pyVoIP.SIPCompatibleMethods:
        pyVoIP.SIPCompatibleMethods.append(_method)

FRAME_SECONDS = 0.020
RING_SECONDS = 1.0  # between the 180 and the 200, as pyVoIP does; a CANCEL in between wins
# How long a REFER waits for the caller's ACK of our 200 (RFC 3261 §13.3.1.4: the 2xx is
# retransmitted for up to 64*T1 = 32 s; a caller that sends no ACK in 4 s is not coming back).
ACK_WAIT_SECONDS = 4.0
_REGISTRATION_WAIT = 0.010


class SipAdapterError(IvrError):
    """The SIP front end could not start or lost its registration."""


# ----------------------------------------------------------------------------
# RTP


class _RTPClient(RTP.RTPClient):
    """pyVoIP's view of a call's media; the packets themselves go through ``MediaEngine``.

    pyVoIP reads ``inPort``, ``assoc`` and ``preference`` from it and calls
    ``start()`` when it answers (and again on every re-INVITE) and ``stop()``.
    """

    def __init__(
        self,
        assoc: dict[int, Any],
        in_ip: str,
        in_port: int,
        out_ip: str,
        out_port: int,
        sendrecv: Any,
        leg: CallLeg,
        media: MediaEngine,
    ) -> None:
        super().__init__(assoc, in_ip, in_port, out_ip, out_port, sendrecv, dtmf=None)
        self.leg = leg
        self.media = media
        self.playback: Playback = playback_for(leg, int(self.preference))
        self.stream: RtpStream | None = None

    def start(self) -> None:
        """Open the stream, when the call is answered (on the event loop, as all SIP handling).

        pyVoIP calls it again for every re-INVITE.
        """
        if self.stream is not None:  # a re-INVITE: keep the stream, follow the new address
            self.stream.follow((self.outIP, self.outPort))
            return
        events = frozenset(pt for pt, kind in self.assoc.items() if kind == RTP.PayloadType.EVENT)
        stream = RtpStream(
            self.leg,
            self.playback,
            (self.inIP, self.inPort),
            (self.outIP, self.outPort),
            int(self.preference),
            events,
        )
        self.stream = self.media.open(stream)

    def stop(self) -> None:
        self.NSD = False
        if self.stream is not None:
            stream, self.stream = self.stream, None
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self.media.loop.call_soon_threadsafe(self.media.close, stream)


# ----------------------------------------------------------------------------
# SIP


def parse_datagram(
    raw: bytes, refuse: Callable[[Any, SipRefused], None] | None = None
) -> Any | None:
    """A pyVoIP ``SIPMessage`` for ``raw``, or ``None`` (logged) — never raises.

    An INVITE we cannot set up (``SipRefused``: a late offer, no G.711) is handed to
    ``refuse`` with its body-less request, to be answered rather than dropped.
    """
    if not raw.strip(b"\r\n\x00"):
        return None  # keep-alive
    try:
        return SIP.SIPMessage(normalise(raw))
    except SipRefused as exc:
        log.warning("INVITE refused (488): %s", exc)
        if refuse is not None:
            try:
                refuse(SIP.SIPMessage(exc.message), exc)
            except Exception as error:
                log.warning("refusal could not be sent: %r", error)
    except SipRejected as exc:
        log.warning("SIP message rejected: %s", exc)
    except Exception as exc:
        log.warning("SIP message pyVoIP could not parse dropped: %r", exc)
    return None


def _with_record_route(response: str, request: Any) -> str:
    """Copy the request's Record-Route into a 1xx/2xx (pyVoIP omits it, defect 13).

    Without it the caller's in-dialog requests (BYE) bypass the edge and come
    straight to the worker, where they are dropped as foreign.
    """
    route = request.headers.get("Record-Route")
    if not route:
        return response
    status_line, rest = response.split("\r\n", 1)
    return f"{status_line}\r\nRecord-Route: {route}\r\n{rest}"


class _SIPClient(SIP.SIPClient):
    phone: _Phone

    def __init__(
        self, *args: Any, trusted: tuple[str, int], availability: Availability, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.trusted = trusted
        self.availability = availability
        self.foreign_datagrams = 0
        self._cseq: dict[str, int] = {}
        self._cseq_lock = threading.Lock()

    def gen_call_id(self) -> str:
        return f"{uuid.uuid4().hex}@{self.myIP}"

    # -- the socket is read on the event loop, not by pyVoIP's receive thread --
    def start(self) -> None:
        """pyVoIP's ``start``, but the socket goes to the loop as soon as the worker has
        registered. pyVoIP hands it over from a ``threading.Timer`` one second later: for
        that second OPTIONS probes and INVITEs went unanswered, and with the monotonic clock
        shifted (libfaketime, as in ``faketime '2026-12-04 20:00:00' bash .ci/run``) such a
        timer never fires, so the worker never answered at all."""
        if self.NSD:
            raise RuntimeError("Attempted to start already started SIPClient")
        self.NSD = True
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((self.myIP, self.myPort))
        self.out = self.s
        self.register()
        self.recv_loop()

    def recv_loop(self) -> None:
        """Hand the socket to the loop (``start``; pyVoIP ran it in a thread of its own).

        A receive thread would compete with the loop for the GIL whenever a SIP
        message arrives, and the loop waiting for it delays every call's audio.
        """
        with contextlib.suppress(RuntimeError):  # the loop closed before the timer fired
            self.phone.front_end.loop.call_soon_threadsafe(self.watch)

    def watch(self) -> None:
        if self.NSD:
            self.phone.front_end.loop.add_reader(self.s.fileno(), self.on_readable)

    def unwatch(self) -> None:
        """On the loop, before the socket is closed."""
        with contextlib.suppress(OSError, ValueError):
            self.phone.front_end.loop.remove_reader(self.s.fileno())

    def on_readable(self) -> None:
        """One datagram (the loop calls again while more are queued)."""
        if not self.recvLock.acquire(blocking=False):
            # (Re-)registration is reading its reply from the socket: look again in 10 ms.
            self.unwatch()
            self.phone.front_end.loop.call_later(_REGISTRATION_WAIT, self.watch)
            return
        try:
            self.s.setblocking(False)
            self.recv()
        except BlockingIOError:
            pass
        except OSError:
            if self.NSD:
                log.exception("SIP socket error")
        finally:
            with contextlib.suppress(OSError):
                self.s.setblocking(True)  # registration reads it blocking
            self.recvLock.release()

    def recv(self) -> None:
        raw, source = self.s.recvfrom(65535)  # BlockingIOError goes to on_readable
        if source != self.trusted:
            self.foreign_datagrams += 1
            log.warning("SIP datagram from %s:%s (not the proxy) dropped", *source)
            return
        message = parse_datagram(raw, self.refuse)
        if message is None:
            return
        try:
            self.parse_message(message)
        except Exception:
            log.exception("SIP message handling failed")

    def parse_message(self, message: Any) -> None:
        if message.type == SIP.SIPMessageType.MESSAGE:
            method = message.method
            reply = self.availability.reply_to(
                method,
                in_dialog=bool(message.headers["To"]["tag"]),
                calls=len(self.phone.calls),
                free_ports=self.phone.free_port_count() - self.phone.ringing(),
            )
            if reply is not None:  # OPTIONS probes; new INVITEs while draining or full
                extra = (
                    () if reply.retry_after is None else (("Retry-After", str(reply.retry_after)),)
                )
                self._send(self._reply(message, reply.code, reply.reason, extra=extra))
                return
            if method == "ACK":
                self.phone.on_ack(message)
                return
            if method == "CANCEL":
                self._send(self.gen_ok(message))
                if self.callCallback is not None:
                    self.callCallback(message)
                return
            if method in ("BYE", "NOTIFY"):
                # pyVoIP answers BYE with a new To tag, straight to the Via address.
                self._send(self._in_dialog_ok(message))
                if method == "NOTIFY":
                    self.phone.on_notify(message)
                elif self.callCallback is not None:
                    self.callCallback(message)
                return
        else:
            method = message.headers["CSeq"]["method"]
            if method == "REFER":
                self.phone.on_refer_response(message)
                return
            if method == "BYE":
                return  # the 200 to our BYE: nothing left to do
        super().parse_message(message)

    def refuse(self, request: Any, refusal: SipRefused) -> None:
        """488 with a ``Warning`` for an INVITE we cannot set up; the worker stays in rotation.

        An existing dialog (a re-INVITE) keeps its session (RFC 3261 §14.2)."""
        warning = ("Warning", refusal.warning(self.myIP))
        self._send(self._reply(request, refusal.code, refusal.status, extra=(warning,)))

    def _in_dialog_ok(self, request: Any) -> str:
        return self._reply(request, 200, "OK", tag_if_missing=False)

    def _reply(
        self,
        request: Any,
        code: int,
        reason: str,
        *,
        tag_if_missing: bool = True,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> str:
        to = request.headers["To"]
        tag = to["tag"] or (self.gen_tag() if tag_if_missing else "")
        return (
            f"SIP/2.0 {code} {reason}\r\n"
            + self._gen_response_via_header(request)
            + f"From: {request.headers['From']['raw']};tag={request.headers['From']['tag']}\r\n"
            + f"To: {to['raw']}"
            + (f";tag={tag}" if tag else "")
            + "\r\n"
            + f"Call-ID: {request.headers['Call-ID']}\r\n"
            + f"CSeq: {request.headers['CSeq']['check']} {request.headers['CSeq']['method']}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in extra)
            + "Content-Length: 0\r\n\r\n"
        )

    def next_cseq(self, call_id: str) -> int:
        """Our own CSeq space in a call's dialog (pyVoIP reuses the caller's INVITE+1)."""
        with self._cseq_lock:
            value = self._cseq.get(call_id, random.randint(1, 10_000)) + 1
            self._cseq[call_id] = value
            return value

    def forget_dialog(self, call_id: str) -> None:
        with self._cseq_lock:
            self._cseq.pop(call_id, None)

    def gen_ringing(self, request: Any) -> str:
        return _with_record_route(super().gen_ringing(request), request)

    def gen_answer(self, request: Any, sess_id: str, ms: Any, sendtype: Any) -> str:
        return _with_record_route(super().gen_answer(request, sess_id, ms, sendtype), request)

    def _send(self, text: str) -> None:
        self.out.sendto(text.encode("utf8"), (self.server, self.port))

    def gen_request_terminated(self, invite: Any) -> str:
        """487 for an INVITE whose CANCEL we accepted (pyVoIP has no such reply)."""
        tag = self.tagLibrary.get(invite.headers["Call-ID"]) or self.gen_tag()
        return (
            "SIP/2.0 487 Request Terminated\r\n"
            + self._gen_response_via_header(invite)
            + f"From: {invite.headers['From']['raw']};tag={invite.headers['From']['tag']}\r\n"
            + f"To: {invite.headers['To']['raw']};tag={tag}\r\n"
            + f"Call-ID: {invite.headers['Call-ID']}\r\n"
            + f"CSeq: {invite.headers['CSeq']['check']} INVITE\r\n"
            + "Content-Length: 0\r\n\r\n"
        )


def _same_dialog(first: Any, request: Any) -> bool:
    """Whether ``request`` belongs to the dialog ``first`` opened: same Call-ID and From tag.

    A caller's Call-ID alone is no identity (RFC 3261 §12: Call-ID and both tags)."""
    return bool(first.headers["From"]["tag"] == request.headers["From"]["tag"])


class _Call(pyVoIP.VoIP.VoIPCall):
    phone: _Phone

    def __init__(self, phone: _Phone, request: Any, session_id: int, leg: CallLeg) -> None:
        self.leg = leg
        self.ports: list[int] = []
        self._ended = False
        # In-dialog requests held until the caller's ACK: sent at once after our 200 they can
        # overtake it through the edge's parallel UDP workers and meet a 481 there or at the
        # caller (seen as a flaky failed transfer under load).
        self.acked = False
        self._until_ack: list[tuple[str, list[tuple[str, str]]]] = []
        # SIP is handled on the loop, but SipFrontEnd.stop() hangs up from another thread.
        self.lock = threading.RLock()
        super().__init__(
            phone, CallState.RINGING, request, session_id, phone.myIP, sendmode=phone.recvmode
        )
        leg._signalling = self

    def create_rtp_clients(
        self, codecs: dict[int, Any], ip: str, port: int, request: Any, baseport: int
    ) -> None:
        self.ports.append(port)
        for index, connection in enumerate(request.body["c"]):
            client = _RTPClient(
                codecs,
                ip,
                port,
                connection["address"],
                baseport + index,
                self.sendmode,
                self.leg,
                self.phone.front_end.media,
            )
            self.RTPClients.append(client)
            if self.leg._playback is None:
                self.leg._playback = client.playback
                self.leg.codec = str(client.preference)

    def bye(self) -> None:
        super().bye()
        self._end("remote")

    def dialog(self) -> Dialog:
        invite = self.request
        sip = self.phone.sip
        return Dialog(
            call_id=self.call_id,
            local_uri=invite.headers["To"]["raw"],
            local_tag=sip.tagLibrary[self.call_id],
            remote_uri=invite.headers["From"]["raw"],
            remote_tag=invite.headers["From"]["tag"],
            remote_target=uri_of(invite.headers["Contact"]),
            route_set=split_route(invite.headers.get("Record-Route", "")),
            contact=f"sip:{sip.username}@{sip.myIP}:{sip.myPort}",
        )

    def _send_in_dialog(self, method: str, extra: list[tuple[str, str]] | None = None) -> None:
        sip = self.phone.sip
        text = dialog_request(
            self.dialog(), method, sip.next_cseq(self.call_id), (sip.myIP, sip.myPort), extra
        )
        sip._send(text)

    def refer(self, target: str, headers: dict[str, str]) -> None:
        """Sends the REFER once the caller has ACKed our 200 (or ``ACK_WAIT_SECONDS`` after)."""
        sip = self.phone.sip
        extra = [
            ("Refer-To", refer_to(target, headers)),
            ("Referred-By", f"<sip:{sip.username}@{sip.server}>"),
        ]
        if self.acked:
            self._send_in_dialog("REFER", extra)
            return
        self._until_ack.append(("REFER", extra))
        self.phone.front_end.loop.call_later(ACK_WAIT_SECONDS, self.on_ack)

    def on_ack(self) -> None:
        """The caller's ACK (or its wait ran out): send what waited for it, on the loop."""
        self.acked = True
        waiting, self._until_ack = self._until_ack, []
        for method, extra in waiting:
            if not self._ended:
                with contextlib.suppress(OSError):
                    self._send_in_dialog(method, extra)

    def hang_up_locally(self) -> None:
        if self.state == CallState.ANSWERED:
            with contextlib.suppress(OSError):
                self._send_in_dialog("BYE")
            self.state = CallState.ENDED
        self._end("local")

    def _end(self, reason: str) -> None:
        with self.lock:
            if self._ended:
                return
            self._ended = True
        for client in self.RTPClients:
            client.stop()
        self.phone.free_ports(self.ports)
        self.phone.calls.pop(self.call_id, None)
        self.phone.sip.forget_dialog(self.call_id)
        self.leg._post(LegEnded(reason))

    def __del__(self) -> None:  # pyVoIP's __del__ releases ports we already freed
        pass


class _Phone(pyVoIP.VoIP.VoIPPhone):
    sip: _SIPClient

    def __init__(
        self,
        front_end: SipFrontEnd,
        *,
        proxy: tuple[str, int],
        username: str,
        password: str,
        listen: tuple[str, int],
        rtp_ports: tuple[int, int],
    ) -> None:
        super().__init__(
            proxy[0],
            proxy[1],
            username,
            password,
            myIP=listen[0],
            callCallback=lambda call: None,  # not used: _callback_MSG_Invite answers
            sipPort=listen[1],
            rtpPortLow=rtp_ports[0],
            rtpPortHigh=rtp_ports[1],
        )
        self.front_end = front_end
        self.sip = _SIPClient(
            proxy[0],
            proxy[1],
            username,
            password,
            phone=self,
            myIP=listen[0],
            myPort=listen[1],
            callCallback=self.callback,
            fatalCallback=self.fatal,
            trusted=proxy,
            availability=front_end.availability,
        )
        first = rtp_ports[0] + rtp_ports[0] % 2
        self._free: deque[int] = deque(range(first, rtp_ports[1] + 1, 2))
        self._ports_lock = threading.Lock()
        self.sessions: set[asyncio.Task[None]] = set()

    # -- ports --
    def request_port(self, blocking: bool = True) -> int:
        with self._ports_lock:
            if not self._free:
                raise NoPortsAvailableError("no free RTP port")
            return self._free.popleft()

    def free_ports(self, ports: list[int]) -> None:
        with self._ports_lock:
            self._free.extend(p for p in ports if p not in self._free)
        ports.clear()

    def free_port_count(self) -> int:
        with self._ports_lock:
            return len(self._free)

    def ringing(self) -> int:
        """Calls accepted but not answered yet: each will take an RTP port when answered."""
        return sum(1 for call in list(self.calls.values()) if call.state == CallState.RINGING)

    def release_ports(self, call: Any = None) -> None:
        """pyVoIP's scan of all calls; ours frees ports when each call ends."""

    # -- calls --
    def _create_Call(self, request: Any, sess_id: int) -> None:
        call_id = request.headers["Call-ID"]
        leg = CallLeg(
            self.front_end.loop,
            new_call_id(),
            caller=request.headers["From"].get("number") or "",
            callee=request.headers["To"].get("number") or "",
            sip_call_id=call_id,
        )
        self.calls[call_id] = _Call(self, request, sess_id, leg)

    def callback(self, request: Any) -> None:
        if request.type == SIP.SIPMessageType.MESSAGE and request.method == "CANCEL":
            call = self.calls.get(request.headers["Call-ID"])
            if isinstance(call, _Call):
                with call.lock:
                    if call.state != CallState.RINGING or call.leg.cancelled:
                        return
                    call.leg.cancelled = True
                self.sip._send(self.sip.gen_request_terminated(call.request))
                call._end("cancelled")
            return
        super().callback(request)

    def _callback_MSG_Invite(self, request: Any) -> None:
        """pyVoIP's INVITE handling, less its thread per call: the answer is scheduled
        on the event loop. (Its session-id list, which grew by one per call and was
        searched on each INVITE, goes too.)"""
        call_id = request.headers["Call-ID"]
        call = self.calls.get(call_id)
        if call is not None and _same_dialog(call.request, request):  # re-INVITE, retransmission
            if call.state != CallState.RINGING:
                call.renegotiate(request)
            return
        if call is not None:
            # Another caller chose the same Call-ID: never let its SDP move this call's media.
            # 503 makes the edge try another worker, where the Call-ID is free.
            log.warning("INVITE refused: Call-ID %s is in use", printable_call_id(call_id))
            warning = ("Warning", f'399 {self.sip.myIP} "Call-ID in use by another call"')
            unavailable = self.sip._reply(request, 503, "Service Unavailable", extra=(warning,))
            self.sip._send(unavailable)
            return
        self.sip._send(self.sip.gen_ringing(request))
        try:
            self._create_Call(request, random.randint(1, 2**31 - 1))
        except Exception:
            log.exception("call %s could not be set up", printable_call_id(call_id))
            self.sip._send(self.sip.gen_busy(request))
            return
        call = self.calls[call_id]
        assert isinstance(call, _Call)
        self.front_end.loop.call_later(RING_SECONDS, self._answer, call)  # we are on the loop

    def on_notify(self, message: Any) -> None:
        """NOTIFY about a REFER we sent: its sipfrag status tells how the transfer goes."""
        call = self.calls.get(message.headers["Call-ID"])
        code = int(message.headers.get(SIPFRAG_HEADER) or 0)
        if not isinstance(call, _Call) or not code:
            return
        stage = "trying" if code < 200 else "answered" if code < 300 else "failed"
        call.leg._post(LegTransfer(stage, code))

    def on_ack(self, message: Any) -> None:
        call = self.calls.get(message.headers["Call-ID"])
        if isinstance(call, _Call) and call.state == CallState.ANSWERED:
            call.on_ack()

    def on_refer_response(self, message: Any) -> None:
        call = self.calls.get(message.headers["Call-ID"])
        code = int(message.status)
        if isinstance(call, _Call) and code >= 200:
            call.leg._post(LegTransfer("accepted" if code < 300 else "failed", code))

    def _answer(self, call: _Call) -> None:
        """On the loop, ``RING_SECONDS`` after the 180: answer, then run the session as a task."""
        with call.lock:
            if call._ended or call.leg.cancelled or call.state != CallState.RINGING:
                return
            try:
                call.answer()  # opens the call's RTP stream, then sends the 200
            except (InvalidStateError, OSError) as exc:
                log.error("call %s could not be answered: %s", call.leg.call_id, exc)
                with contextlib.suppress(OSError):
                    self.sip._send(self.sip.gen_busy(call.request))
                call._end("local")
                return
        task = self.front_end.loop.create_task(self._session(call), name=f"call {call.leg.call_id}")
        self.sessions.add(task)
        task.add_done_callback(self.sessions.discard)

    async def _session(self, call: _Call) -> None:
        try:
            await self.front_end.on_call(call.leg)
        except Exception:
            log.exception("call session %s failed", call.leg.call_id)
        finally:
            call.hang_up_locally()


class SipFrontEnd:
    """Registers at the edge proxy and runs ``on_call(leg)`` on ``loop`` for each call."""

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop,
        on_call: Callable[[CallLeg], Coroutine[Any, Any, None]],
        proxy: tuple[str, int],
        listen: tuple[str, int],
        username: str,
        password: str = "",
        rtp_ports: tuple[int, int] = (20000, 20999),
        max_calls: int | None = None,
    ) -> None:
        """``max_calls``: more at once are refused 503 + Retry-After (``None``: RTP ports)."""
        self.loop = loop
        self.on_call = on_call
        self.media = MediaEngine(loop)
        self.availability = Availability(max_calls)
        self.phone = _Phone(
            self,
            proxy=proxy,
            username=username,
            password=password,
            listen=listen,
            rtp_ports=rtp_ports,
        )

    def start(self) -> None:
        """Bind and register (blocking: run it with ``asyncio.to_thread``)."""
        try:
            self.phone.start()
        except Exception as exc:
            raise SipAdapterError(f"could not register at the edge: {exc}") from exc

    def stop(self) -> None:
        """Hang up every call and unregister (blocking: not on the loop)."""
        for call in list(self.phone.calls.values()):
            if isinstance(call, _Call):
                call.hang_up_locally()
        with contextlib.suppress(RuntimeError, TimeoutError):  # loop gone, or stuck
            asyncio.run_coroutine_threadsafe(self._unwatch(), self.loop).result(timeout=5)
        with contextlib.suppress(Exception):
            self.phone.stop()
        with contextlib.suppress(RuntimeError, TimeoutError):  # loop gone, or stuck
            asyncio.run_coroutine_threadsafe(self.media.stop(), self.loop).result(timeout=5)

    def drain(self) -> None:
        """Take no new calls (OPTIONS and new INVITEs get 503); calls in progress go on."""
        self.availability.drain()

    def calls_in_progress(self) -> int:
        """Calls accepted and not ended yet, ringing ones included."""
        return len(self.phone.calls)

    async def _unwatch(self) -> None:
        """The loop stops reading the SIP socket (unregistering reads it, then closes it)."""
        if getattr(self.phone.sip, "s", None) is not None:
            self.phone.sip.unwatch()

    @property
    def foreign_datagrams(self) -> int:
        return int(self.phone.sip.foreign_datagrams)

    def free_rtp_ports(self) -> int:
        return int(self.phone.free_port_count())
