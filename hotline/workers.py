"""How the IVR workers of one node share its ports (restarts: ``hotline/restarts.py``).

Pure: ``hotline up`` asks for the layout, starts one ``python -m ivr.worker`` per slot
and writes the slots into the edge's dispatcher list.

Worker *k* (0-based) listens for SIP on ``ivr.sip_port + k`` and sends and receives
RTP on the *k*-th of ``ivr.workers`` equal, disjoint slices of ``ivr.rtp_ports``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from settings.errors import SettingsError
from settings.node import Settings

#: Each call takes one even RTP port; a slice must hold at least this many ports.
MIN_RTP_PORTS_PER_WORKER = 20


@dataclass(frozen=True, slots=True)
class WorkerSlot:
    index: int  # 0-based
    host: str
    sip_port: int
    rtp_ports: tuple[int, int]  # inclusive

    @property
    def name(self) -> str:
        return f"ivr-worker-{self.index + 1}"

    @property
    def calls(self) -> int:
        """How many calls its RTP slice holds (one even port per call)."""
        low, high = self.rtp_ports
        return (high - low) // 2 + 1


def worker_count(settings: Settings, requested: int | None = None) -> int:
    """``--workers``, else ``ivr.workers`` in hotline.yaml, else one per core."""
    if requested is not None:
        return requested
    return settings.ivr.workers or os.cpu_count() or 1


def worker_slots(settings: Settings, count: int) -> list[WorkerSlot]:
    """The ports of ``count`` workers; ``SettingsError`` if they do not fit or collide."""
    ivr = settings.ivr
    low, high = ivr.rtp_ports
    where = f"ivr.rtp_ports [{low}, {high}]"
    if count < 1:
        raise SettingsError(f"--workers must be at least 1, not {count}")
    if not 1024 <= low < high <= 65535:
        raise SettingsError(f"{where}: expected two ports 1024 ≤ low < high ≤ 65535")
    first = low + low % 2  # RTP ports are even
    size = ((high - first + 1) // count) & ~1
    if size < MIN_RTP_PORTS_PER_WORKER:
        raise SettingsError(
            f"{where} is too small for {count} workers: each needs at least "
            f"{MIN_RTP_PORTS_PER_WORKER} ports; widen the range or run fewer workers"
        )
    sip_ports = range(ivr.sip_port, ivr.sip_port + count)
    if sip_ports[-1] > 65535:
        raise SettingsError(f"ivr.sip_port {ivr.sip_port} + {count} workers passes port 65535")
    clashes = [p for p in sip_ports if first <= p < first + count * size]
    if clashes:
        raise SettingsError(
            f"ivr.sip_port {ivr.sip_port}: the SIP ports of {count} workers "
            f"({sip_ports[0]}–{sip_ports[-1]}) overlap {where}"
        )
    edge = settings.edge
    if edge.port in sip_ports or first <= edge.port < first + count * size:
        raise SettingsError(
            f"edge.port {edge.port} is also an IVR worker's SIP or RTP port "
            f"(SIP {sip_ports[0]}–{sip_ports[-1]}, RTP {where})"
        )
    return [
        WorkerSlot(
            index=k,
            host=ivr.host,
            sip_port=sip_ports[k],
            rtp_ports=(first + k * size, first + (k + 1) * size - 1),
        )
        for k in range(count)
    ]
