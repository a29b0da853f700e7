"""One IVR worker process: registers at the edge and runs a ``CallSession`` per call.

This is the composition root of the IVR: it is where the pyVoIP adapter, the
flow engine, prompts, recordings, the Vosk adapter and the work-order client
are put together. ``python -m ivr.worker --config config/hotline.yaml``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from asr.vosk_adapter import open_transcriber
from hotline.settings import Settings, load_settings
from ivr.engine.engine import FlowEngine
from ivr.engine.flow import load_flow
from ivr.errors import IvrError
from ivr.orders_client import OrdersClient
from ivr.prompts import PromptSet
from ivr.session import BEEP_PROMPT, CallSession
from ivr.sip.pyvoip_adapter import CallLeg, SipFrontEnd
from recordings.audio import is_silence
from recordings.store import RecordingStore, WavWriter

log = logging.getLogger("ivr.worker")
CHINA = ZoneInfo("Asia/Shanghai")
SPOOL_REPLAY_SECONDS = 30.0


def now() -> datetime:
    return datetime.now(CHINA)


def _token_in(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


async def _read_token(path: Path, wait_seconds: float) -> str:
    """The service writes the IVR's token at its first start; wait for it briefly."""
    async with asyncio.timeout(wait_seconds):
        while not (token := await asyncio.to_thread(_token_in, path)):  # noqa: ASYNC110 - another process writes the file
            await asyncio.sleep(0.2)
    return token


async def run_worker(settings: Settings, stop: asyncio.Event, *, token_wait: float = 30.0) -> None:
    ivr = settings.ivr
    flow = load_flow(ivr.menu, prompt_texts=ivr.prompt_texts)
    prompts = PromptSet.load(ivr.prompt_texts, ivr.prompt_audio)
    missing = prompts.missing(set(flow.prompt_keys()) | {BEEP_PROMPT})
    if missing:
        raise IvrError(
            f"prompt audio missing in {ivr.prompt_audio}: {', '.join(sorted(missing))} "
            "(run `hotline prompts build`)"
        )
    token = await _read_token(settings.paths.ivr_token, token_wait)
    orders = OrdersClient(
        settings.api.base_url,
        token,
        group=ivr.pop_group,
        worker=f"{socket.gethostname()}:{ivr.sip_port}",
        spool_dir=settings.paths.spool,
    )
    transcriber = await asyncio.to_thread(open_transcriber, settings.asr.model)
    if transcriber is None:
        log.warning("no speech model: the hotline runs DTMF-only and orders get no transcript")
    recordings = RecordingStore(settings.paths.recordings)
    background: set[asyncio.Task[None]] = set()

    async def on_call(leg: CallLeg) -> None:
        engine = FlowEngine(flow, call_id=leg.call_id, caller=leg.caller, callee=leg.callee)
        session = CallSession(
            leg,
            engine,
            prompts=prompts,
            orders=orders,
            recordings=recordings,
            open_writer=WavWriter,
            is_silence=is_silence,
            transcriber=transcriber,
            clock=now,
            background=background,
        )
        log.info("call %s answered (%s), flow %s", leg.call_id, leg.codec, flow.version)
        await session.run()
        log.info("call %s finished", leg.call_id)

    front = SipFrontEnd(
        loop=asyncio.get_running_loop(),
        on_call=on_call,
        proxy=(settings.edge.host, settings.edge.port),
        listen=(ivr.host, ivr.sip_port),
        username=ivr.extension,
        rtp_ports=ivr.rtp_ports,
    )
    await asyncio.to_thread(front.start)
    log.info(
        "IVR worker registered at %s:%s as %s",
        settings.edge.host,
        settings.edge.port,
        ivr.extension,
    )
    try:
        while not stop.is_set():
            await orders.replay_spool()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SPOOL_REPLAY_SECONDS):
                    await stop.wait()
    finally:
        await asyncio.to_thread(front.stop)
        if background:
            await asyncio.wait(background, timeout=120)
        await orders.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ivr.worker")
    parser.add_argument("--config", type=Path, default=Path("config/hotline.yaml"))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("HOTLINE_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    settings = load_settings(args.config)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    asyncio.run(_main())


if __name__ == "__main__":
    main()
