"""d) SIGKILL of an IVR worker with live calls: cross-call audio, release time, lost intakes.

Wave 1: ``first`` callers from 127.0.0.8 (about half reach worker 1), each a SIPp
process of its own that streams its own sine tone (``tones.py``) for the whole call,
presses 1 after the greeting, talks (the tone) through a long intake, presses #, and
waits for the order number and the BYE. Once worker 1 holds its calls in their intake,
it is killed with SIGKILL. Measured: how long each of its callers waits for a BYE
(target ≤ 5 s; a caller that hears nothing is held until its scenario gives up).

Wave 2: once ``hotline up`` has restarted worker 1, ``second`` callers from the same
host (as a carrier's gateway) with tones of their own go through the whole intake. Every
recording of both waves is checked with a Goertzel filter for seconds of a tone that is
not its caller's (target 0: a restarted worker must never record a dead call's stream
arriving at a reused port), and every call that went to the end must have exactly one
order (target: 0 lost).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from bench.capacity.media import make as make_media
from bench.security.node import GATEWAY, REPO, BatteryNode, caller_numbers, sipp, sipp_counts
from bench.security.report import Figure, StepResult
from bench.security.tones import seconds_of_tones, tone_frequencies
from tests.e2e.peers import Process
from tests.e2e.sipp import answered_calls

FIRST_SOURCE = GATEWAY  # allow-listed at the edge, as a carrier's trunk is
# The same host as wave 1, as every call of a carrier comes from its gateway: a stale
# stream then differs from a new caller's by port only (issue 13 item 6).
SECOND_SOURCE = FIRST_SOURCE
WELCOME_MS = 11_500
LONG_INTAKE_MS = 45_000  # wave 1: still talking when the worker dies, and after
INTAKE_MS = 8_000
RELEASE_LIMIT = 40.0  # a victim not released by then counts as this
RELEASE_TARGET = 5.0
CROSS_SHARE_SECONDS = 0.3  # less than this of a foreign tone is the filter's noise


@dataclass
class Caller:
    process: Process
    workdir: Path
    name: str
    tone: float
    ended_at: float | None = None
    pid: int = 0  # SIPp's, in the Call-ID it makes; kept after the process is stopped


def scenario(tone_file: str, intake_ms: int) -> str:
    return (
        (REPO / "bench/capacity/caller.xml")
        .read_text()
        .replace("1390000[call_number]", "[field0]")
        .replace("caller.ulaw,-1,0", f"{tone_file},-1,0")
        .replace("WELCOME_MS", str(WELCOME_MS))
        .replace("INTAKE_MS", str(intake_ms))
        .replace('<recv request="BYE" timeout="90000"/>', '<recv request="BYE" timeout="30000"/>')
    )


def _callers(
    node: BatteryNode,
    wave: str,
    source: str,
    tones: list[float],
    numbers: list[str],
    intake_ms: int,
) -> list[Caller]:
    callers = []
    for k, (tone, number) in enumerate(zip(tones, numbers, strict=True)):
        work = node.work / "kill" / f"{wave}-{k:02d}"
        make_media(work)
        tone_file = f"tone{int(tone)}.ulaw"
        subprocess.run(
            [
                "sox",
                "-n",
                "-r",
                "8000",
                "-c",
                "1",
                "-t",
                "ul",
                str(work / tone_file),
                "synth",
                "90",
                "sine",
                str(tone),
                "vol",
                "0.5",
            ],
            check=True,
        )
        name = f"{wave}-{k:02d}"
        process = sipp(
            work,
            target=node.edge,
            source=source,
            name=name,
            scenario=scenario(tone_file, intake_ms),
            calls=1,
            rate=1,
            numbers=[number],
        )
        callers.append(Caller(process, work, name, tone))
    for caller in callers:
        caller.process.start()
        assert caller.process.proc is not None
        caller.pid = caller.process.proc.pid
        time.sleep(0.1)
    return callers


def _call_id_of(caller: Caller, text: str) -> str | None:
    match = re.search(rf"\b1-{caller.pid}@[\d.]+", text)
    return match.group(0) if match else None


def _poll_ends(callers: list[Caller]) -> None:
    for c in callers:
        if c.ended_at is None and c.process.proc is not None and c.process.proc.poll() is not None:
            c.ended_at = time.monotonic()


def _wait_all(callers: list[Caller], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(c.ended_at is None for c in callers):
        _poll_ends(callers)
        time.sleep(0.1)
    for c in callers:
        c.process.stop()


def _foreign_seconds(recording: Path, own: float, tones: list[float]) -> float:
    with wave.open(str(recording)) as w:
        frames = w.readframes(w.getnframes())
        rate = w.getframerate()
    samples = [
        int.from_bytes(frames[i : i + 2], "little", signed=True)
        for i in range(0, len(frames) - 1, 2)
    ]
    found = seconds_of_tones(samples, tones, rate)
    return sum(s for f, s in found.items() if f != own and s >= CROSS_SHARE_SECONDS)


def run(node: BatteryNode, *, first: int = 40, second: int = 20) -> StepResult:
    started = time.monotonic()
    mark = node.mark()
    tones = tone_frequencies(first + second)
    numbers = caller_numbers("1392200", first + second)
    wave1 = _callers(node, "w1", FIRST_SOURCE, tones[:first], numbers[:first], LONG_INTAKE_MS)
    wave2: list[Caller] = []
    wave2_at = 0.0
    try:
        # Until every caller is answered (or no new answer for 5 s), then into their intake.
        deadline = time.monotonic() + 40
        count, last_answer = 0, time.monotonic()
        while time.monotonic() < deadline and count < first:
            logs = node.up.worker_log(0) + node.up.worker_log(1)
            everyone = " ".join(answered_calls(logs).values())
            now_count = sum(1 for c in wave1 if _call_id_of(c, everyone))
            if now_count != count:
                count, last_answer = now_count, time.monotonic()
            elif count and time.monotonic() - last_answer > 5:
                break
            time.sleep(0.5)
        time.sleep(max(0.0, last_answer + WELCOME_MS / 1000 + 3 - time.monotonic()))
        victim = node.up.worker_pid_now(0)
        log1 = node.up.worker_log(0)
        sip_of = answered_calls(log1)  # the worker's own call id → the caller's Call-ID
        in_progress = " ".join(
            sip_of[server] for server in set(sip_of) - set(re.findall(r"call (\S+) finished", log1))
        )
        _poll_ends(wave1)
        on_worker1 = [c for c in wave1 if _call_id_of(c, in_progress) and c.ended_at is None]
        if victim is None or not on_worker1:
            return StepResult("kill", TITLE, error="worker 1 has no calls (or no state file)")
        edge_offset = len(node.up.edge_log())
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        victims = on_worker1
        # Wave 2 as soon as the edge sends calls to worker 1 again, while the victims of
        # the kill that were not released still stream their tones at its old ports.
        deadline = killed_at + RELEASE_LIMIT
        while time.monotonic() < deadline and (
            not wave2 or any(c.ended_at is None for c in victims)
        ):
            _poll_ends(wave1)
            if not wave2 and node.worker_up_since(0, edge_offset):
                wave2 = _callers(
                    node, "w2", SECOND_SOURCE, tones[first:], numbers[first:], INTAKE_MS
                )
                wave2_at = time.monotonic() - killed_at
            time.sleep(0.05)
        release = [min(RELEASE_LIMIT, (c.ended_at or deadline) - killed_at) for c in victims]
        if not wave2:
            return StepResult("kill", TITLE, error="worker 1 not back in rotation in 40 s")
        _wait_all(wave2, WELCOME_MS / 1000 + INTAKE_MS / 1000 + 60)
        _wait_all(wave1, 40)
    finally:
        for c in wave1 + wave2:
            c.process.stop()
    time.sleep(5)
    logs = node.up.worker_log(0) + node.up.worker_log(1)
    # Orders carry the worker's own call ids; SIPp's callers are known by their Call-IDs.
    server_of = {sip: server for server, sip in answered_calls(logs).items()}
    orders = {o["call_id"]: o for o in node.orders()}
    recordings = Path(node.up.config["paths"]["recordings"])
    cross_seconds, cross_calls, checked, lost, without_recording = 0.0, 0, 0, [], 0
    victim_set = {c.name for c in victims}
    for c in wave1 + wave2:
        call_id = _call_id_of(c, logs)
        ok, _ = sipp_counts(c.workdir, c.name)
        order = orders.get(server_of.get(call_id or "", ""))
        if ok and c.name not in victim_set and order is None:
            lost.append(c.name)
        if order is None:
            continue
        if not order.get("recording"):
            without_recording += 1
            continue
        path = recordings / order["recording"]
        if path.exists():
            checked += 1
            foreign = _foreign_seconds(path, c.tone, tones)
            cross_seconds += foreign
            cross_calls += foreign > 0
    announced = set(re.findall(r"call (\S+): order \S+ created", logs))
    missing_announced = len(
        {cid for cid in announced if cid.endswith(("@" + FIRST_SOURCE, "@" + SECOND_SOURCE))}
        - set(orders)
    )
    return StepResult(
        "kill",
        TITLE,
        figures=(
            Figure("calls on the killed worker", len(victims)),
            Figure(
                "callers released ≤ 5 s",
                sum(1 for r in release if r <= RELEASE_TARGET),
                f">= {len(victims)}",
            ),
            Figure("slowest release (time to BYE)", max(release), f"<= {RELEASE_TARGET:.0f}", "s"),
            Figure(
                "calls with another caller's audio", cross_calls, "== 0", f"of {checked} recordings"
            ),
            Figure("seconds of another caller's audio", cross_seconds, "== 0", "s"),
            Figure("confirmed intakes lost", len(lost) + missing_announced, "== 0"),
            Figure("process deaths (besides the kill)", len(node.deaths_since(mark)) - 1, "== 0"),
        ),
        seconds=time.monotonic() - started,
        notes=(
            f"wave 2 started {wave2_at:.1f} s after the kill",
            f"orders without a recording: {without_recording}",
            f"victims' release times (s): {sorted(round(r, 1) for r in release)}",
        ),
        details={"lost": lost, "release_s": [round(r, 2) for r in release]},
    )


TITLE = "d) kill -9 of a worker with live calls (distinct tones per caller)"
