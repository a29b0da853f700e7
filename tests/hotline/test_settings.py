"""``config/hotline.yaml``: the broker accounts of the node."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.settings import SettingsError, load_settings
from hotline.supervisor import _mqtt_account_args

REPO = Path(__file__).resolve().parents[2]


def test_without_accounts_the_node_connects_anonymously() -> None:
    settings = load_settings(REPO / "config/hotline.yaml")
    assert (settings.mqtt.ivr, settings.mqtt.workorders) == (None, None)
    assert _mqtt_account_args(settings) == []


def test_accounts_name_a_password_file(tmp_path: Path) -> None:
    (tmp_path / "ivr.pw").write_text("s3cret\n")
    config = tmp_path / "hotline.yaml"
    config.write_text(
        "mqtt:\n"
        f"  ivr: {{username: ivr, password_file: {tmp_path / 'ivr.pw'}}}\n"
        f"  workorders: {{username: workorders, password_file: {tmp_path / 'wo.pw'}}}\n"
    )
    settings = load_settings(config)
    assert settings.mqtt.ivr is not None and settings.mqtt.ivr.password() == "s3cret"
    # The service reads its own file; the password never goes on a command line.
    assert _mqtt_account_args(settings) == [
        "--mqtt-username", "workorders", "--mqtt-password-file", str(tmp_path / "wo.pw"),
    ]  # fmt: skip


def test_an_account_without_a_password_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text("mqtt:\n  ivr: {username: ivr, password: plain}\n")
    with pytest.raises(SettingsError, match=r"mqtt\.ivr\.password_file: Field required"):
        load_settings(config)
