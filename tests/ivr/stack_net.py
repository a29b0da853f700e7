"""A fake UDP network for the sans-io SIP stack: user agents wired together on a fake
clock, with datagrams that can be dropped, duplicated or delayed (reordered)."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.sip.stack.events import Event
from ivr.sip.stack.message import SipMessage, parse_message
from ivr.sip.stack.transaction import Address
from ivr.sip.stack.useragent import UserAgent, UserAgentConfig

Rule = Callable[[SipMessage, Address, Address], bool]


@dataclass
class Wire:
    """One datagram as it crossed the network (or was dropped)."""

    at: float
    source: Address
    destination: Address
    message: SipMessage
    dropped: bool = False


@dataclass
class FakeNetwork:
    latency: float = 0.01
    jitter: float = 0.0  # up to this much extra delay: datagrams overtake each other
    seed: int = 15
    now: float = 1000.0
    agents: dict[Address, UserAgent] = field(default_factory=dict)
    events: dict[Address, list[Event]] = field(default_factory=dict)
    wire: list[Wire] = field(default_factory=list)
    drop: Rule | None = None
    duplicate: Rule | None = None
    raw_inbox: dict[Address, list[SipMessage]] = field(default_factory=dict)
    _queue: list[tuple[float, int, bytes, Address, Address]] = field(default_factory=list)
    _seq: int = 0

    def agent(self, host: str, port: int = 5060, **config: object) -> UserAgent:
        ua = UserAgent(UserAgentConfig(local=(host, port), **config))  # type: ignore[arg-type]
        self.agents[(host, port)] = ua
        self.events[(host, port)] = []
        return ua

    def listen(self, address: Address) -> None:
        """A scripted peer: what is sent to ``address`` lands in ``raw_inbox``."""
        self.raw_inbox[address] = []

    def inject(self, message: SipMessage, source: Address, destination: Address) -> None:
        self._post(message.serialise(), source, destination)

    def _post(self, data: bytes, source: Address, destination: Address) -> None:
        message = parse_message(data)
        dropped = bool(self.drop and self.drop(message, source, destination))
        self.wire.append(Wire(self.now, source, destination, message, dropped))
        if dropped:
            return
        copies = 2 if self.duplicate and self.duplicate(message, source, destination) else 1
        rng = random.Random(f"{self.seed}-{self._seq}")
        for _ in range(copies):
            delay = self.latency + rng.uniform(0, self.jitter)
            self._seq += 1
            heapq.heappush(self._queue, (self.now + delay, self._seq, data, source, destination))

    def _collect(self) -> None:
        for address, ua in self.agents.items():
            for data, destination in ua.outgoing():
                self._post(data, address, destination)
            while (event := ua.next_event()) is not None:
                self.events[address].append(event)

    def run(self, seconds: float) -> None:
        """Deliver datagrams and fire timers until ``seconds`` of fake time have passed."""
        end = self.now + seconds
        self._collect()
        while True:
            times = [t for ua in self.agents.values() if (t := ua.next_timer()) is not None]
            if self._queue:
                times.append(self._queue[0][0])
            upcoming = min(times, default=None)
            if upcoming is None or upcoming > end:
                break
            self.now = max(self.now, upcoming)
            while self._queue and self._queue[0][0] <= self.now:
                _, _, data, source, destination = heapq.heappop(self._queue)
                if destination in self.agents:
                    self.agents[destination].receive(data, source, self.now)
                elif destination in self.raw_inbox:
                    self.raw_inbox[destination].append(parse_message(data))
            for ua in self.agents.values():
                timer = ua.next_timer()
                if timer is not None and timer <= self.now:
                    ua.handle_timer(self.now)
            self._collect()
        self.now = end

    def sent(self, method_or_status: str | int, *, source: Address | None = None) -> list[Wire]:
        """What went on the wire: requests by method, responses by ``"<status> <method>"``."""
        found = []
        for w in self.wire:
            m = w.message
            name = getattr(m, "method", None) or f"{getattr(m, 'status', 0)} {m.cseq.method}"
            if name == method_or_status and (source is None or w.source == source):
                found.append(w)
        return found

    def kinds(self, address: Address) -> list[str]:
        return [type(e).__name__ for e in self.events[address]]
