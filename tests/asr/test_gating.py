"""The speech gate, frame by frame on a fake clock (20 ms per frame)."""

from __future__ import annotations

import numpy as np
import pytest

from asr.gating import FRAME_BYTES, FRAME_MS, SILENCE_DBFS, GateConfig, SpeechGate, frame_dbfs

pytestmark = pytest.mark.unit

QUIET = bytes(FRAME_BYTES)


def tone(amplitude: int) -> bytes:
    t = np.arange(FRAME_BYTES // 2)
    return (amplitude * np.sin(2 * np.pi * 440 * t / 8000)).astype("<i2").tobytes()


LOUD = tone(8000)  # about -15 dBFS
HUSH = tone(100)  # about -53 dBFS: line noise, below the default threshold
CONFIG = GateConfig(
    threshold_dbfs=-42,
    preroll_ms=60,
    hangover_ms=100,
    endpoint_silence_ms=200,
    partial_interval_ms=100,
    max_utterance_ms=1000,
)


def run(gate: SpeechGate, script: str, start: int = 0) -> list[str]:
    """Feed frames described by ``script`` (L loud, q quiet, h hush, P loud while a prompt
    plays); return one token per frame: ``-`` nothing fed, ``S`` speech started (with the
    number of frames fed), ``f`` fed, ``p`` fed and a partial due, ``E:<reason>`` end."""
    frames = {"L": (LOUD, False), "q": (QUIET, False), "h": (HUSH, False), "P": (LOUD, True)}
    out = []
    for index, symbol in enumerate(script, start=start):
        frame, prompt = frames[symbol]
        step = gate.push(frame, index * FRAME_MS / 1000, prompt_playing=prompt)
        if step.end_of_utterance:
            out.append(f"E:{step.end_reason}" + ("+" if step.feed else ""))
        elif step.speech_started:
            out.append(f"S{len(step.feed)}")
        elif step.want_partial:
            out.append("p")
        else:
            out.append("f" if step.feed else "-")
    return out


@pytest.mark.parametrize(
    ("pcm", "low", "high"),
    [(QUIET, SILENCE_DBFS, SILENCE_DBFS), (LOUD, -17, -13), (HUSH, -55, -51), (b"", -200, -119)],
)
def test_frame_level(pcm: bytes, low: float, high: float) -> None:
    assert low <= frame_dbfs(pcm) <= high


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # silence and line noise never reach the recognizer
        ("qqqqhhhh", ["-"] * 8),
        # speech starts with up to 3 frames (60 ms) of pre-roll
        ("qqqqqL", ["-"] * 5 + ["S4"]),
        ("qL", ["-", "S2"]),
        # hangover feeds 100 ms after the last loud frame, then gates; 200 ms ends
        ("LLqqqqqqqqqq", ["S1", "f", "f", "f", "f", "p", "f", "-", "-", "-", "-", "E:silence"]),
        # a short pause inside the utterance does not end it
        ("LqqqqqqqL", ["S1", "f", "f", "f", "f", "p", "-", "-", "f"]),
        # prompt playback is never fed and cannot start an utterance
        ("PPPPqL", ["-", "-", "-", "-", "-", "S2"]),
        # prompt playback inside an utterance counts as silence
        ("LPPPPPPPPPPP", ["S1", "-", "-", "-", "-", "-", "-", "-", "-", "-", "E:silence", "-"]),
    ],
)
def test_gate_script(script: str, expected: list[str]) -> None:
    assert run(SpeechGate(CONFIG), script) == expected


def test_partials_come_at_most_every_interval() -> None:
    tokens = run(SpeechGate(CONFIG), "L" * 20)
    assert tokens[0] == "S1"
    assert [i for i, t in enumerate(tokens) if t == "p"] == [5, 10, 15]


def test_max_length_ends_an_utterance_that_never_pauses() -> None:
    tokens = run(SpeechGate(CONFIG), "L" * 60)
    assert tokens[50] == "E:max_length+"
    assert tokens[51] == "S1"  # the next utterance starts at once


def test_close_ends_the_utterance_in_progress() -> None:
    gate = SpeechGate(CONFIG)
    run(gate, "LL")
    assert gate.in_utterance
    step = gate.close()
    assert step.end_of_utterance
    assert step.end_reason == "closed"
    assert not gate.close().end_of_utterance


def test_counts_what_was_fed() -> None:
    gate = SpeechGate(CONFIG)
    run(gate, "qqqqq" + "LL" + "q" * 20)
    assert gate.frames_seen == 27
    assert gate.frames_fed == 3 + 2 + 5  # pre-roll, speech, hangover


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hangover_ms": -1},
        {"hangover_ms": 500, "endpoint_silence_ms": 400},
        {"max_utterance_ms": 0},
    ],
)
def test_bad_config_is_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must"):
        GateConfig(**kwargs)
