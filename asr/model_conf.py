"""The audio a Vosk model expects, read from its Kaldi feature configuration (pure parsing).

A Kaldi model is trained at one sample rate, written in ``conf/mfcc.conf`` as
``--sample-frequency`` (Kaldi's default when the line is absent: 16000). Phone audio arrives
at 8000 Hz; Kaldi resamples it only when the configuration says ``--allow-upsample=true``
(``--allow-downsample`` for higher rates), otherwise Vosk logs "Sampling frequency mismatch" and
``AcceptWaveform`` raises. The production model is a 16 kHz model, so the adapter resamples
phone audio itself (``asr.soxr_adapter``) and creates recognisers at ``FeatureConf.sample_rate``.

The syntax follows Kaldi's ``ParseOptions::ReadConfigFile``: one ``--name=value`` per line,
``#`` starts a comment, ``_`` and ``-`` in names are the same, a bare ``--flag`` means true, and
the last occurrence wins. Nested ``--config=`` files are not followed (no Vosk model uses them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asr.errors import ModelConfigError, ModelUnavailable

KALDI_DEFAULT_SAMPLE_RATE = 16000
"""``FrameExtractionOptions::samp_freq`` when the configuration does not set it."""

FEATURE_CONFS = (Path("conf/mfcc.conf"), Path("conf/fbank.conf"))
"""Where Vosk looks for the feature options, in its order (MFCC models, then filterbank)."""

_TRUE = frozenset({"true", "t", "1", ""})
_FALSE = frozenset({"false", "f", "0"})


@dataclass(frozen=True)
class FeatureConf:
    """What the model's feature extractor accepts."""

    sample_rate: int
    allow_upsample: bool
    allow_downsample: bool
    source: str
    """The file it was read from (for messages)."""
    rate_from_default: bool = False
    """True when ``--sample-frequency`` is absent and Kaldi's default applies."""

    def kaldi_resamples_from(self, input_rate: int) -> bool:
        """Whether Kaldi itself would accept audio at ``input_rate`` (by resampling it)."""
        if input_rate == self.sample_rate:
            return True
        return self.allow_upsample if input_rate < self.sample_rate else self.allow_downsample


def parse_feature_conf(text: str, source: str) -> FeatureConf:
    """Parse the text of a Kaldi feature configuration; errors name ``source:line``."""
    options: dict[str, tuple[str, int]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not line.startswith("--"):
            raise ModelConfigError(f"{source}:{number}: not a --name=value option: {raw.strip()}")
        name, _, value = line[2:].partition("=")
        options[name.strip().replace("_", "-")] = (value.strip(), number)
    rate, from_default = KALDI_DEFAULT_SAMPLE_RATE, True
    if "sample-frequency" in options:
        rate, from_default = _rate(*options["sample-frequency"], source), False
    return FeatureConf(
        sample_rate=rate,
        allow_upsample=_flag(options, "allow-upsample", source),
        allow_downsample=_flag(options, "allow-downsample", source),
        source=source,
        rate_from_default=from_default,
    )


def read_feature_conf(model_dir: Path) -> FeatureConf:
    """The feature configuration of the model in ``model_dir``."""
    for relative in FEATURE_CONFS:
        path = model_dir / relative
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ModelConfigError(f"cannot read {path}: {exc}") from exc
            return parse_feature_conf(text, str(path))
    names = " or ".join(str(relative) for relative in FEATURE_CONFS)
    raise ModelUnavailable(f"not a Vosk model directory (no {names}): {model_dir}")


def rate_report(conf: FeatureConf, line_rate: int, resampler: str) -> list[str]:
    """Lines for ``hotline models``: the model's rate against the line's, and what happens."""
    origin = "Kaldi's default, no --sample-frequency" if conf.rate_from_default else "set"
    kaldi = (
        f"Kaldi's own resampling in {conf.source}: "
        f"upsampling {'allowed' if conf.allow_upsample else 'not allowed'}, "
        f"downsampling {'allowed' if conf.allow_downsample else 'not allowed'}"
    )
    lines = [f"model sample rate: {conf.sample_rate} Hz ({origin} in {conf.source})"]
    if conf.sample_rate == line_rate:
        lines.append(f"phone audio ({line_rate} Hz) is decoded at the model's rate as it is")
    else:
        lines.append(
            f"warning: model expects {conf.sample_rate} Hz; phone audio ({line_rate} Hz) is "
            f"resampled to {conf.sample_rate} Hz with {resampler} before decoding"
        )
    lines.append(kaldi)
    return lines


def _rate(value: str, number: int, source: str) -> int:
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if rate <= 0 or not rate.is_integer():
        raise ModelConfigError(
            f"{source}:{number}: --sample-frequency must be a positive whole number of Hz, "
            f"not {value!r}"
        )
    return int(rate)


def _flag(options: dict[str, tuple[str, int]], name: str, source: str) -> bool:
    if name not in options:
        return False
    value, number = options[name]
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ModelConfigError(f"{source}:{number}: --{name} must be true or false, not {value!r}")
