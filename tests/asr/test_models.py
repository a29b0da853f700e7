from __future__ import annotations

import os
from pathlib import Path

import pytest

from asr.errors import ModelUnavailable
from asr.models import SYMLINK_MIN_BYTES, default_model_dir, make_test_model_copy

pytestmark = pytest.mark.unit

MFCC = "--use-energy=false\n--dither=1.0\n--num-ceps=40\n"


@pytest.fixture
def fake_model(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    (model / "conf").mkdir(parents=True)
    (model / "conf" / "mfcc.conf").write_text(MFCC, encoding="utf-8")
    (model / "conf" / "model.conf").write_text("--beam=10.0\n", encoding="utf-8")
    (model / "graph" / "phones").mkdir(parents=True)
    (model / "graph" / "phones" / "word_boundary.int").write_text("1 nonword\n")
    with (model / "graph" / "HCLr.fst").open("wb") as big:
        big.truncate(SYMLINK_MIN_BYTES)  # sparse: big by size, cheap on disk
    return model


def test_copy_links_big_files_and_copies_small_ones(fake_model: Path, tmp_path: Path) -> None:
    copy = make_test_model_copy(fake_model, tmp_path / "copy")
    assert copy == tmp_path / "copy"
    assert (copy / "graph" / "HCLr.fst").is_symlink()
    assert os.readlink(copy / "graph" / "HCLr.fst") == str(fake_model / "graph" / "HCLr.fst")
    for small in ("conf/model.conf", "graph/phones/word_boundary.int"):
        assert not (copy / small).is_symlink()
        assert (copy / small).read_bytes() == (fake_model / small).read_bytes()


@pytest.mark.parametrize(("dither", "line"), [(0.0, "--dither=0"), (0.5, "--dither=0.5")])
def test_copy_sets_dither_and_keeps_other_options(
    fake_model: Path, tmp_path: Path, dither: float, line: str
) -> None:
    copy = make_test_model_copy(fake_model, tmp_path / "copy", dither=dither)
    lines = (copy / "conf" / "mfcc.conf").read_text(encoding="utf-8").splitlines()
    assert [entry for entry in lines if entry.startswith("--dither")] == [line]
    assert "--use-energy=false" in lines
    assert "--num-ceps=40" in lines
    assert (fake_model / "conf" / "mfcc.conf").read_text(encoding="utf-8") == MFCC


def test_copy_of_a_copy_links_to_the_original(fake_model: Path, tmp_path: Path) -> None:
    first = make_test_model_copy(fake_model, tmp_path / "first")
    second = make_test_model_copy(first, tmp_path / "second")
    assert os.readlink(second / "graph" / "HCLr.fst") == str(fake_model / "graph" / "HCLr.fst")


def test_copy_refuses_a_non_empty_destination(fake_model: Path, tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "keep.txt").write_text("mine")
    with pytest.raises(ModelUnavailable, match="overwrite"):
        make_test_model_copy(fake_model, dst)
    assert (dst / "keep.txt").read_text() == "mine"


def test_copy_refuses_a_directory_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not a Vosk model"):
        make_test_model_copy(tmp_path, tmp_path / "copy")


def test_default_model_dir_is_under_var_models(tmp_path: Path) -> None:
    assert default_model_dir(tmp_path) == tmp_path / "var" / "models" / "vosk-model-small-cn-0.22"
