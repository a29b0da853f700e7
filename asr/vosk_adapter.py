"""The Vosk adapter: the only module of the project that imports ``vosk``.

One ``vosk.Model`` (≈500 MB, 1.5 s to load) is shared by every transcription; each call gets
its own ``KaldiRecognizer``, which is never shared between threads. Decoding is blocking
CPU work (cffi releases the GIL), so async callers go through ``transcribe_wav_async``, which
runs it in a worker thread under a bounded semaphore.

Every recogniser is created at the model's own sample rate (``conf/mfcc.conf``, read by
``asr.model_conf``): audio at another rate (8 kHz phone audio, 8 kHz WAV recordings) goes
through a ``PcmResampler`` first. Kaldi's own resampling is never relied on: the production
model does not allow it, and Vosk then raises on every ``AcceptWaveform``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import wave
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path

import vosk

from asr.errors import AsrError, ModelUnavailable, UnsupportedAudio
from asr.model_conf import FeatureConf, read_feature_conf
from asr.soxr_adapter import PcmResampler

_log = logging.getLogger(__name__)

CHUNK_SECONDS = 0.1
"""Audio fed to the recognizer per ``AcceptWaveform`` call (Vosk wants 20 ms to 0.2 s)."""

_SAMPLE_WIDTH = 2  # 16-bit signed little-endian


@functools.cache
def _silence_vosk_logging() -> None:
    vosk.SetLogLevel(-1)


class Transcriber:
    """Speech-to-text over one shared Vosk model."""

    def __init__(
        self,
        model: vosk.Model,
        model_dir: Path,
        *,
        max_concurrent: int = 1,
        feature_conf: FeatureConf | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, not {max_concurrent}")
        self._model = model
        self._model_dir = model_dir
        self._feature_conf = feature_conf or read_feature_conf(model_dir)
        self._max_concurrent = max_concurrent
        self._semaphores: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()

    @classmethod
    def load(cls, model_dir: Path, *, max_concurrent: int = 1) -> Transcriber:
        """Load the model in ``model_dir`` (never downloads). Raises ``ModelUnavailable``."""
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, not {max_concurrent}")
        model_dir = Path(model_dir).absolute()
        if not model_dir.is_dir():
            raise ModelUnavailable(f"Vosk model directory not found: {model_dir}")
        feature_conf = read_feature_conf(model_dir)  # before the 1.5 s load: fail fast
        _silence_vosk_logging()
        try:
            model = vosk.Model(str(model_dir))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise ModelUnavailable(f"Vosk could not load the model in {model_dir}: {exc}") from exc
        _log.info(
            "speech model %s: decodes at %d Hz; other rates are resampled with soxr",
            model_dir.name,
            feature_conf.sample_rate,
        )
        return cls(model, model_dir, max_concurrent=max_concurrent, feature_conf=feature_conf)

    @property
    def model_dir(self) -> Path:
        return self._model_dir

    @property
    def max_concurrent(self) -> int:
        return self._max_concurrent

    @property
    def feature_conf(self) -> FeatureConf:
        return self._feature_conf

    @property
    def model_rate(self) -> int:
        """The sample rate every recogniser is created at."""
        return self._feature_conf.sample_rate

    def recognizer(self, sample_rate: int, grammar: list[str] | None = None) -> _VoskRecognizer:
        """A recogniser fed PCM at ``sample_rate``, decoding at the model's rate.

        With ``grammar`` it only outputs those phrases (Vosk's grammar mode).
        """
        _check_sample_rate(sample_rate)
        if grammar is None:
            recognizer = vosk.KaldiRecognizer(self._model, self.model_rate)
        else:
            recognizer = vosk.KaldiRecognizer(
                self._model, self.model_rate, json.dumps(grammar, ensure_ascii=False)
            )
        resampler = None
        if sample_rate != self.model_rate:
            resampler = PcmResampler(sample_rate, self.model_rate)
        return _VoskRecognizer(recognizer, _chunk_bytes(self.model_rate), resampler)

    def transcribe_pcm16(self, pcm: bytes, sample_rate: int) -> str:
        """Transcribe 16-bit signed little-endian mono PCM at ``sample_rate`` Hz."""
        _check_sample_rate(sample_rate)
        if len(pcm) % _SAMPLE_WIDTH:
            raise UnsupportedAudio(f"16-bit PCM needs an even byte count, got {len(pcm)}")
        step = _chunk_bytes(sample_rate)
        chunks = (pcm[start : start + step] for start in range(0, len(pcm), step))
        return self._decode(chunks, sample_rate)

    def transcribe_wav(self, path: Path) -> str:
        """Transcribe a mono 16-bit PCM WAV file; other formats raise ``UnsupportedAudio``."""
        try:
            with wave.open(str(path), "rb") as wav:
                channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
                if channels != 1 or width != _SAMPLE_WIDTH:
                    raise UnsupportedAudio(
                        f"{path}: need mono 16-bit PCM, got {channels} channel(s) of "
                        f"{8 * width}-bit samples"
                    )
                _check_sample_rate(rate)
                return self._decode(_wav_chunks(wav, rate), rate)
        except (wave.Error, EOFError) as exc:
            raise UnsupportedAudio(f"{path}: not a readable PCM WAV file: {exc}") from exc
        except OSError as exc:
            raise AsrError(f"cannot read {path}: {exc}") from exc

    async def transcribe_wav_async(self, path: Path) -> str:
        """``transcribe_wav`` in a worker thread; at most ``max_concurrent`` run at once."""
        async with self._semaphore():
            return await asyncio.to_thread(self.transcribe_wav, path)

    def _semaphore(self) -> asyncio.Semaphore:
        # An asyncio.Semaphore binds to the loop it first waits in, so keep one per running loop
        # (production has one loop; tests run one per test on a session-wide transcriber).
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self._max_concurrent)
        return semaphore

    def _decode(self, chunks: Iterable[bytes], sample_rate: int) -> str:
        recognizer = self.recognizer(sample_rate)
        texts: list[str] = []
        for chunk in chunks:
            if recognizer.accept(chunk):
                texts.append(recognizer.result())
        texts.append(recognizer.final())
        return " ".join(text for text in texts if text).strip()


def open_transcriber(model_dir: Path, *, max_concurrent: int = 1) -> Transcriber | None:
    """Load the model, or log one warning and return ``None`` if it is unavailable.

    The hotline keeps taking calls without a model: orders are then created with an empty
    transcript.
    """
    try:
        return Transcriber.load(model_dir, max_concurrent=max_concurrent)
    except ModelUnavailable as exc:
        _log.warning("speech recognition disabled, transcripts will be empty: %s", exc)
        return None


def _check_sample_rate(sample_rate: int) -> None:
    if sample_rate <= 0:
        raise UnsupportedAudio(f"sample rate must be positive, got {sample_rate}")


def _chunk_bytes(sample_rate: int) -> int:
    return max(1, int(sample_rate * CHUNK_SECONDS)) * _SAMPLE_WIDTH


def _wav_chunks(wav: wave.Wave_read, sample_rate: int) -> Iterator[bytes]:
    frames_per_chunk = _chunk_bytes(sample_rate) // _SAMPLE_WIDTH
    while chunk := wav.readframes(frames_per_chunk):
        yield chunk


def _text_of(result_json: str) -> str:
    text = json.loads(result_json).get("text", "")
    return text.strip() if isinstance(text, str) else ""


class _VoskRecognizer:
    """``asr.streaming.Recognizer`` over one ``vosk.KaldiRecognizer`` and its resampler.

    Vosk's output depends on how its input is cut into ``AcceptWaveform`` calls: at 16 kHz the
    same samples in 31 different cuttings decoded to 4 or 5 different texts (8 kHz input that
    Kaldi upsampled itself did not vary; why is not known). Streaming jobs batch
    frames by timing, and the resampler hands out pieces of varying length, so Vosk only ever
    gets blocks of ``block_bytes`` counted from the last ``final``: the rest waits
    for the next ``accept`` or for ``final``. Results are then a function of the audio alone;
    partials trail by less than one block.
    """

    def __init__(
        self,
        recognizer: vosk.KaldiRecognizer,
        block_bytes: int,
        resampler: PcmResampler | None = None,
    ) -> None:
        if block_bytes <= 0 or block_bytes % _SAMPLE_WIDTH:
            raise ValueError(f"block_bytes must be a positive even number, not {block_bytes}")
        self._recognizer = recognizer
        self._block_bytes = block_bytes
        self._resampler = resampler
        self._pending = bytearray()

    def accept(self, pcm16: bytes) -> bool:
        if self._resampler is not None:
            pcm16 = self._resampler.process(pcm16)
        self._pending += pcm16
        while len(self._pending) >= self._block_bytes:
            block = bytes(self._pending[: self._block_bytes])
            del self._pending[: self._block_bytes]
            if self._recognizer.AcceptWaveform(block):
                return True  # an endpoint: the caller takes ``result`` before more audio
        return False

    def result(self) -> str:
        return _text_of(self._recognizer.Result())

    def partial(self) -> str:
        partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
        return partial.strip() if isinstance(partial, str) else ""

    def final(self) -> str:
        # The resampler's tail is the end of this utterance: decode it before the final result.
        if self._resampler is not None:
            self._pending += self._resampler.flush()
        for start in range(0, len(self._pending), self._block_bytes):
            self._recognizer.AcceptWaveform(bytes(self._pending[start : start + self._block_bytes]))
        self._pending.clear()
        return _text_of(self._recognizer.FinalResult())


class VoskBackend:
    """``asr.streaming.RecognizerBackend`` over the shared model of a ``Transcriber``."""

    def __init__(self, transcriber: Transcriber) -> None:
        self._transcriber = transcriber

    def text_recognizer(self, sample_rate: int) -> _VoskRecognizer:
        return self._transcriber.recognizer(sample_rate)

    def keyword_recognizer(self, sample_rate: int, grammar: list[str]) -> _VoskRecognizer:
        return self._transcriber.recognizer(sample_rate, grammar)

    def has_word(self, word: str) -> bool:
        # vosk 0.3.45 names it ``vosk_model_find_word`` (later releases: ``find_word``).
        model = self._transcriber._model
        find = getattr(model, "find_word", None) or model.vosk_model_find_word
        return bool(find(word) != -1)

    def transcribe_wav(self, path: Path) -> str:
        return self._transcriber.transcribe_wav(path)
