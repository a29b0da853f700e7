"""Reading the model's sample rate and Kaldi's resampling options (pure parsing, no Vosk)."""

from __future__ import annotations

from pathlib import Path

import pytest

from asr.errors import ModelConfigError, ModelUnavailable
from asr.model_conf import (
    KALDI_DEFAULT_SAMPLE_RATE,
    FeatureConf,
    parse_feature_conf,
    rate_report,
    read_feature_conf,
)
from tests.asr.conftest import ko_model_source

pytestmark = pytest.mark.unit

KO_STYLE = """--use-energy=false
--num-mel-bins=40
--num-ceps=40
--low-freq=20
--high-freq=7600
--allow-upsample=true
--allow-downsample=true
"""


def test_the_korean_test_model_is_16_khz_by_default_and_lets_kaldi_resample() -> None:
    conf = read_feature_conf(ko_model_source())
    assert conf == FeatureConf(
        16000, True, True, str(ko_model_source() / "conf/mfcc.conf"), rate_from_default=True
    )


def test_absent_sample_frequency_is_kaldis_default() -> None:
    conf = parse_feature_conf(KO_STYLE, "m/conf/mfcc.conf")
    assert conf.sample_rate == KALDI_DEFAULT_SAMPLE_RATE == 16000
    assert conf.rate_from_default


def test_small_model_layout_without_upsampling() -> None:
    text = "--sample-frequency=16000\n--use-energy=false\n--allow-downsample=true\n"
    conf = parse_feature_conf(text, "m")
    assert (conf.sample_rate, conf.allow_upsample, conf.allow_downsample) == (16000, False, True)
    assert not conf.rate_from_default
    assert not conf.kaldi_resamples_from(8000)
    assert conf.kaldi_resamples_from(16000)
    assert conf.kaldi_resamples_from(48000)


def test_an_8_khz_model() -> None:
    conf = parse_feature_conf("--sample-frequency=8000.0  # telephone model\n", "m")
    assert conf.sample_rate == 8000
    assert not conf.allow_upsample and not conf.allow_downsample


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("--allow-upsample", True),  # bare flag
        ("--allow_upsample=true", True),  # underscores as dashes
        ("--allow-upsample=T", True),
        ("--allow-upsample=1", True),
        ("--allow-upsample=false", False),
        ("--allow-upsample=f", False),
        ("--allow-upsample=0", False),
        ("# --allow-upsample=true", False),  # a comment
    ],
)
def test_kaldi_boolean_syntax(line: str, expected: bool) -> None:
    assert parse_feature_conf(f"\n{line}\n", "m").allow_upsample is expected


def test_the_last_occurrence_wins() -> None:
    conf = parse_feature_conf("--sample-frequency=8000\n--sample_frequency=16000\n", "m")
    assert conf.sample_rate == 16000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--use-energy=false\n--sample-frequency=abc\n", "m.conf:2: --sample-frequency"),
        ("--sample-frequency=-8000\n", "m.conf:1: --sample-frequency"),
        ("--sample-frequency=8000.5\n", "m.conf:1: --sample-frequency"),
        ("\n\n--allow-upsample=yes\n", "m.conf:3: --allow-upsample must be true or false"),
        ("sample-frequency=8000\n", "m.conf:1: not a --name=value option"),
    ],
)
def test_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ModelConfigError) as error:
        parse_feature_conf(text, "m.conf")
    assert str(error.value).startswith(message)


def test_a_bad_conf_is_an_unavailable_model() -> None:
    assert issubclass(ModelConfigError, ModelUnavailable)  # open_transcriber handles both


def test_filterbank_models_and_missing_confs(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not a Vosk model directory"):
        read_feature_conf(tmp_path)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "fbank.conf").write_text("--sample-frequency=8000\n", encoding="utf-8")
    assert read_feature_conf(tmp_path).sample_rate == 8000
    (tmp_path / "conf" / "mfcc.conf").write_text("--sample-frequency=16000\n", encoding="utf-8")
    assert read_feature_conf(tmp_path).sample_rate == 16000  # Vosk reads mfcc.conf first


def test_rate_report_warns_when_the_rates_differ() -> None:
    conf = parse_feature_conf("--sample-frequency=16000\n--allow-downsample=true\n", "x.conf")
    lines = rate_report(conf, 8000, "soxr")
    assert lines == [
        "model sample rate: 16000 Hz (set in x.conf)",
        "warning: model expects 16000 Hz; phone audio (8000 Hz) is resampled to 16000 Hz "
        "with soxr before decoding",
        "Kaldi's own resampling in x.conf: upsampling not allowed, downsampling allowed",
    ]


def test_rate_report_without_a_mismatch() -> None:
    lines = rate_report(parse_feature_conf("--sample-frequency=8000\n", "x.conf"), 8000, "soxr")
    assert not any(line.startswith("warning") for line in lines)
    assert "phone audio (8000 Hz) is decoded at the model's rate as it is" in lines
