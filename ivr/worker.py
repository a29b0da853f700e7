"""One IVR worker process: registers at the edge and runs a ``CallSession`` per call.

This is the composition root of the IVR: it is where the pyVoIP adapter, the
flow engine, prompts, recordings, the Vosk adapter and the work-order client
are put together. ``python -m ivr.worker --config config/hotline.yaml``.

SIGHUP (``hotline reload``) loads the menu, prompts and calendar again: new
calls get the new version, calls in progress keep theirs, and an invalid
change is rejected and logged. ``var/run/ivr-worker-<sip port>.json`` says
what runs.

SIGTERM (or SIGINT) drains the worker: the edge's probes and new INVITEs get
503, so new calls go to the other workers, while calls in progress finish —
for at most ``ivr.drain_seconds``; then the rest are hung up and the process
exits. A second signal ends the drain at once.

``hotline up`` runs several workers, each with ``--sip-port`` and
``--rtp-ports`` of its own (``hotline/workers.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import wave
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asr.after_call import AfterCallQueue
from asr.errors import AsrError
from asr.intake import IntakeRules, load_intake_rules
from asr.keywords import plan_keywords, rules_from_mapping
from asr.streaming import AfterCallWorker, RecognizerBackend, StreamingPool
from asr.vosk_adapter import VoskBackend, open_transcriber
from ivr import eventloop, lastgood
from ivr.bus import CallBus
from ivr.engine.engine import FlowEngine
from ivr.engine.flow import Flow, load_flow
from ivr.errors import IvrError
from ivr.journal import IntakeJournal, OrderJournal, finish_cut_intakes
from ivr.orders_client import OrdersClient
from ivr.prompts.library import PromptLibrary
from ivr.runstate import ReloadOutcome, WorkerState, remove_state, state_path, write_state
from ivr.session import BEEP_PROMPT, CallSession
from ivr.sip.pyvoip_adapter import CallLeg, SipFrontEnd
from ivr.transcripts import Classifier, intake_classifier
from recordings.audio import is_silence
from recordings.errors import RecordingError
from recordings.store import RecordingStore, WavWriter
from routing.calendar import WorkCalendar
from routing.calendar_config import load_calendar
from routing.clock import HOTLINE_ZONE, now_in
from routing.errors import RoutingError
from settings.node import Settings, load_settings

log = logging.getLogger("ivr.worker")
CHINA = HOTLINE_ZONE
SPOOL_REPLAY_SECONDS = 30.0
#: Calls recognised live at once; about 3 streams fit on 2 cores (shared/docs/vosk-notes.md).
STREAMING_CALLS = 3


def now() -> datetime:
    """The call clock: the system clock (``routing.clock``) seen in China."""
    return now_in(CHINA)


def _token_in(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


async def _read_token(path: Path, wait_seconds: float) -> str:
    """The service writes the IVR's token at its first start; wait for it briefly."""
    async with asyncio.timeout(wait_seconds):
        while not (token := await asyncio.to_thread(_token_in, path)):  # noqa: ASYNC110 - another process writes the file
            await asyncio.sleep(0.2)
    return token


@dataclass(frozen=True)
class Version:
    """What a call runs on, fixed when it is answered: a reload never changes it under a call."""

    flow: Flow
    prompts: PromptLibrary
    calendar: WorkCalendar


def load_version(settings: Settings) -> Version:
    """Menu, prompt texts and audio of every language it uses, calendar: all or nothing.

    Raises ``IvrError`` (or ``RoutingError`` for the calendar) naming what is wrong.
    """
    ivr = settings.ivr
    flow = load_flow(ivr.menu, prompt_texts=ivr.prompt_texts)
    prompts = PromptLibrary.load(flow.language, ivr.prompt_texts, ivr.prompt_audio, flow.languages)
    missing = prompts.missing(set(flow.prompt_keys()) | {BEEP_PROMPT})
    if missing:
        raise IvrError(
            f"prompt audio missing in {ivr.prompt_audio}: {', '.join(missing)} "
            "(run `hotline prompts build`)"
        )
    return Version(flow, prompts, load_calendar(settings.calendar))


def sources_of(settings: Settings) -> lastgood.Sources:
    return lastgood.Sources(settings.ivr.menu, settings.ivr.prompt_texts, settings.calendar)


def save_last_good(settings: Settings, version: Version) -> None:
    """Keep the files ``version`` was loaded from, for a restart on a broken disk."""
    try:
        lastgood.save(settings.paths.var, sources_of(settings), version.flow.version, _now_text())
    except OSError as exc:
        log.error("last good configuration not saved: %s", exc)


def load_first_version(settings: Settings) -> tuple[Version, str]:
    """The configuration on disk, or — when it does not load — the last good one.

    Returns the version and, for a fallback, why the one on disk was not used. A crashed
    worker must come back even if someone broke the menu meanwhile (issue 13, item 9).
    """
    try:
        version = load_version(settings)
    except (IvrError, RoutingError) as error:
        last = lastgood.load(settings.paths.var)
        if last is None:
            raise
        fallback = settings.model_copy(
            update={
                "ivr": settings.ivr.model_copy(
                    update={"menu": last.sources.menu, "prompt_texts": last.sources.prompt_texts}
                ),
                "calendar": last.sources.calendar or settings.calendar,
            }
        )
        version = load_version(fallback)
        why = f"configuration on disk rejected: {error}"
        log.error(
            "CONFIGURATION ON DISK DOES NOT LOAD — running the last good one (flow %s, saved %s) "
            "until it is fixed and `hotline reload` succeeds:\n%s",
            version.flow.version,
            last.saved_at,
            error,
        )
        return version, why
    save_last_good(settings, version)
    return version, ""


def _now_text() -> str:
    return now().isoformat(timespec="seconds")


class Versions:
    """The version new calls get; ``reload`` swaps it only for a fully valid new one."""

    def __init__(self, settings: Settings, current: Version, fallback: str = "") -> None:
        self.settings = settings
        self.current = current
        self.state_file = state_path(settings.paths.var, settings.ivr.sip_port)
        self.state = WorkerState(
            pid=os.getpid(),
            menu=str(settings.ivr.menu),
            flow_version=current.flow.version,
            menu_text=current.flow.text,
            started_at=now().isoformat(timespec="seconds"),
            languages=list(current.flow.languages),
            fallback=fallback,
        )
        write_state(self.state_file, self.state)

    async def reload(self) -> ReloadOutcome:
        try:
            new = await asyncio.to_thread(load_version, self.settings)
        except (IvrError, RoutingError) as error:
            log.error("reload rejected; still running flow %s:\n%s", self.version, error)
            outcome = ReloadOutcome(self._at(), False, self.version, str(error))
            self._record(outcome)
            return outcome
        old, self.current = self.version, new
        log.info("reloaded: new calls run flow %s (was %s)", new.flow.version, old)
        await asyncio.to_thread(save_last_good, self.settings, new)
        outcome = ReloadOutcome(self._at(), True, new.flow.version)
        self._record(outcome, new.flow)
        return outcome

    @property
    def version(self) -> str:
        return self.current.flow.version

    def _record(self, outcome: ReloadOutcome, flow: Flow | None = None) -> None:
        changes: dict[str, object] = {"reloads": self.state.reloads + 1, "last_reload": outcome}
        if flow is not None:
            changes.update(
                flow_version=flow.version,
                menu_text=flow.text,
                languages=list(flow.languages),
                fallback="",
            )
        self.state = dataclasses.replace(self.state, **changes)  # type: ignore[arg-type]
        write_state(self.state_file, self.state)

    @staticmethod
    def _at() -> str:
        return now().isoformat(timespec="seconds")


async def _reload_on_request(versions: Versions, reload: asyncio.Event) -> None:
    while True:
        await reload.wait()
        reload.clear()
        await versions.reload()


async def run_worker(
    settings: Settings,
    stop: asyncio.Event,
    *,
    token_wait: float = 30.0,
    reload: asyncio.Event | None = None,
    recognizers: RecognizerBackend | None = None,
    hurry: asyncio.Event | None = None,
) -> None:
    """Run until ``stop``, then drain; each time ``reload`` is set (SIGHUP), load the menu again.

    The drain lasts until no call is left, ``ivr.drain_seconds`` or ``hurry``.
    ``recognizers`` replaces the Vosk model of ``settings.asr.model`` (the benchmark injects
    scripted recognizers at this seam)."""
    versions = Versions(settings, *await asyncio.to_thread(load_first_version, settings))
    reloader = asyncio.create_task(_reload_on_request(versions, reload or asyncio.Event()))
    try:
        await _serve(settings, stop, versions, token_wait, recognizers, hurry or asyncio.Event())
    finally:
        reloader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reloader
        remove_state(versions.state_file, os.getpid())


async def _serve(
    settings: Settings,
    stop: asyncio.Event,
    versions: Versions,
    token_wait: float,
    backend: RecognizerBackend | None,
    hurry: asyncio.Event,
) -> None:
    ivr = settings.ivr
    token = await _read_token(settings.paths.ivr_token, token_wait)
    orders = OrdersClient(
        settings.api.base_url,
        token,
        group=ivr.pop_group,
        worker=f"{socket.gethostname()}:{ivr.sip_port}",
        spool_dir=settings.paths.spool,
    )
    if backend is None:
        transcriber = await asyncio.to_thread(open_transcriber, settings.asr.model)
        backend = None if transcriber is None else VoskBackend(transcriber)
    speech: StreamingPool | None = None
    after_call: AfterCallWorker | None = None
    classify_intake: Classifier | None = None
    if backend is None:
        log.warning("no speech model: the hotline runs DTMF-only and orders get no transcript")
    else:
        rules = _intake_rules(settings.intake)
        speech = _speech_pool(backend, rules)
        # Recordings of calls that found every live recogniser busy: one at a time, in free
        # slots of the same pool (its threads, never the event loop), emergencies first.
        after_call = AfterCallWorker(speech, AfterCallQueue())
        if rules is not None:
            classify_intake = await asyncio.to_thread(intake_classifier, rules)
    recordings = RecordingStore(settings.paths.recordings)
    journal = IntakeJournal(settings.paths.spool)
    order_journal = OrderJournal(journal, orders.order_body)
    background: set[asyncio.Task[None]] = set()
    sessions: dict[str, CallSession] = {}  # calls in progress, for commands from the bus

    def on_command(call_id: str, command: dict[str, Any]) -> None:
        session = sessions.get(call_id)
        if session is None:
            return  # another worker's call, or one that has ended
        payload = command.get("payload")
        line = payload.get("line") if isinstance(payload, dict) else None
        if command.get("type") == "call.emergency" and isinstance(line, str):
            log.warning("call %s: emergency %s raised by an agent", call_id, line)
            session.raise_emergency(line, "agent")

    bus = CallBus(
        settings.mqtt.host,
        settings.mqtt.port,
        client_id=f"ivr-{socket.gethostname()}-{ivr.sip_port}",
        on_command=on_command,
        username=None if settings.mqtt.ivr is None else settings.mqtt.ivr.username,
        password=None if settings.mqtt.ivr is None else settings.mqtt.ivr.password(),
    )
    bus_task = asyncio.create_task(bus.run(), name="mqtt-bus")
    after_call_task = (
        None if after_call is None else asyncio.create_task(after_call.run(), name="after-call")
    )

    async def on_call(leg: CallLeg) -> None:
        version = versions.current  # this call keeps it, whatever is reloaded meanwhile
        flow = version.flow
        engine = FlowEngine(
            flow,
            call_id=leg.call_id,
            caller=leg.caller,
            callee=leg.callee,
            calendar=version.calendar,
        )
        session = CallSession(
            leg,
            engine,
            prompts=version.prompts,
            orders=orders,
            recordings=recordings,
            open_writer=WavWriter,
            is_silence=is_silence,
            clock=now,
            background=background,
            edge=(settings.edge.host, settings.edge.port),
            speech=speech,
            publish_partial=lambda call_id, text: bus.publish_partial(call_id, ivr.pop_group, text),
            after_call=after_call,
            classify=classify_intake,
            journal=order_journal,
        )
        log.info(
            "call %s answered (%s), flow %s, SIP Call-ID %s",
            leg.call_id,
            leg.codec,
            flow.version,
            leg.sip_call_id,
        )
        sessions[leg.call_id] = session
        try:
            await session.run()
        finally:
            sessions.pop(leg.call_id, None)
        log.info("call %s finished", leg.call_id)

    front = SipFrontEnd(
        loop=asyncio.get_running_loop(),
        on_call=on_call,
        proxy=(settings.edge.host, settings.edge.port),
        listen=(ivr.host, ivr.sip_port),
        username=ivr.extension,
        rtp_ports=ivr.rtp_ports,
        max_calls=ivr.max_calls,
    )
    await asyncio.to_thread(front.start)
    log.info(
        "IVR worker on %s:%s (RTP %s-%s) registered at %s:%s as %s",
        ivr.host,
        ivr.sip_port,
        *ivr.rtp_ports,
        settings.edge.host,
        settings.edge.port,
        ivr.extension,
    )
    loop = asyncio.get_running_loop()
    deadline = float("inf")
    try:
        while not stop.is_set():
            await finish_cut_intakes(
                journal,
                speech_seconds=lambda ref: asyncio.to_thread(_speech_seconds, recordings, ref),
                spool=orders.spool.put,
                report_lost=orders.report_invalid_call,
            )
            await orders.replay_spool()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SPOOL_REPLAY_SECONDS):
                    await stop.wait()
        deadline = loop.time() + ivr.drain_seconds
        await _drain(front, deadline, hurry)
    finally:
        await asyncio.to_thread(front.stop)
        if background:  # transcripts of ended calls: within the drain limit (5 s at least)
            await asyncio.wait(background, timeout=min(120, max(5, deadline - loop.time())))
        for task in (after_call_task, bus_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if speech is not None:
            speech.shutdown()
        await orders.close()


async def _drain(front: SipFrontEnd, deadline: float, hurry: asyncio.Event) -> None:
    """Refuse new calls and wait for the calls in progress until ``deadline`` or ``hurry``."""
    loop = asyncio.get_running_loop()
    front.drain()
    log.warning(
        "draining: new calls go to other workers; %d call(s) in progress may take %.0f s",
        front.calls_in_progress(),
        max(0.0, deadline - loop.time()),
    )
    while front.calls_in_progress() and loop.time() < deadline and not hurry.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.2):
                await hurry.wait()
    left = front.calls_in_progress()
    if left:
        log.warning("drain ended with %d call(s) in progress: hanging them up", left)
    else:
        log.info("drained: no call in progress")


def _speech_seconds(recordings: RecordingStore, ref: str) -> float:
    """Seconds above the silence gate in a (partial) recording; 0 if it is gone or broken."""
    try:
        with wave.open(str(recordings.resolve(ref)), "rb") as wav:
            pcm = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error, RecordingError):
        return 0.0
    frame = 320  # 20 ms of 8 kHz 16-bit
    voiced = sum(not is_silence(pcm[i : i + frame]) for i in range(0, len(pcm) - frame + 1, frame))
    return voiced * 0.020


def _intake_rules(intake: Path) -> IntakeRules | None:
    try:
        return load_intake_rules(intake)
    except AsrError as exc:  # `hotline check-config` names the problem; calls go on regardless
        log.error("keyword spotting and intake classification off: %s", exc)
        return None


def _speech_pool(backend: RecognizerBackend, rules: IntakeRules | None) -> StreamingPool:
    """Streaming recognisers sharing the model, spotting the emergency words of the rules."""
    emergencies = {} if rules is None else {rule.line: rule.words for rule in rules.emergencies}
    plan = plan_keywords(rules_from_mapping(emergencies), backend.has_word, require_unk=True)
    for line in plan.report():
        log.warning("keyword spotting: %s", line)
    return StreamingPool(backend, max_streams=STREAMING_CALLS, workers=2, keyword_plan=plan)


def _port_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        return int(low), int(high)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH, not {text!r}") from None


def with_ports(
    settings: Settings, sip_port: int | None, rtp_ports: tuple[int, int] | None
) -> Settings:
    """``settings`` with this worker's own SIP port and RTP range, where given."""
    changes: dict[str, object] = {}
    if sip_port is not None:
        changes["sip_port"] = sip_port
    if rtp_ports is not None:
        changes["rtp_ports"] = rtp_ports
    return settings.model_copy(update={"ivr": settings.ivr.model_copy(update=changes)})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ivr.worker")
    parser.add_argument("--config", type=Path, default=Path("config/hotline.yaml"))
    parser.add_argument("--sip-port", type=int, help="instead of ivr.sip_port (hotline up)")
    parser.add_argument(
        "--rtp-ports", type=_port_range, help="LOW-HIGH instead of ivr.rtp_ports (hotline up)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("HOTLINE_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    settings = with_ports(load_settings(args.config), args.sip_port, args.rtp_ports)

    async def _main() -> None:
        stop, hurry, reload = asyncio.Event(), asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_stop_signal() -> None:
            (hurry if stop.is_set() else stop).set()  # the second signal ends the drain

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_stop_signal)
        loop.add_signal_handler(signal.SIGHUP, reload.set)
        await run_worker(settings, stop, reload=reload, hurry=hurry)

    log.info("event loop: %s", eventloop.loop_name())
    eventloop.run(_main())


if __name__ == "__main__":
    main()
