"""``config/hotline.yaml``: where everything of one node listens and lives."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Edge(_Section):
    """The Kamailio edge (docs/edge.md): where it listens and whom it trusts."""

    host: str = "127.0.0.1"
    port: int = 5060
    # Digest realm of the agent phones' credentials (`hotline agents passwd`); changing it
    # invalidates every stored password.
    realm: str = "hotline"
    # Trunks and own hosts (addresses or CIDR networks): never rate-limited or banned. The
    # edge's and the IVR workers' hosts are always on it.
    allow: tuple[str, ...] = ()
    # More than this many requests from one source in 2 s bans it for ban_seconds.
    rate: Annotated[int, Field(ge=5, le=100000)] = 30
    ban_seconds: Annotated[int, Field(ge=10, le=86400)] = 600
    # Dedicated lines as static gateways: user -> sip:HOST[:PORT]. Never registrable.
    gateways: dict[str, str] = Field(default_factory=dict)
    # var/log/kamailio.log is rotated at this size, this many old files kept.
    log_max_mb: Annotated[int, Field(ge=1, le=10000)] = 10
    log_keep: Annotated[int, Field(ge=0, le=100)] = 5

    @field_validator("allow")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(str(ipaddress.ip_network(v, strict=False)) for v in value)


class Ivr(_Section):
    host: str = "127.0.0.1"
    sip_port: Annotated[int, Field(ge=1, le=65535)] = 5070  # worker k (0-based): sip_port + k
    rtp_ports: tuple[int, int] = (20000, 20999)  # shared out among the workers, disjoint
    workers: Annotated[int, Field(ge=1, le=64)] | None = None  # None: one per core
    drain_seconds: Annotated[float, Field(ge=0)] = 60.0  # SIGTERM: how long calls may go on
    extension: str = "12320"
    menu: Path = Path("config/menus/12320.yaml")
    prompt_texts: Path = Path("config/prompts/zh.yaml")
    prompt_audio: Path = Path("var/prompts/zh")
    pop_group: str = "intake"


class Api(_Section):
    host: str = "127.0.0.1"
    port: int = 8320
    database: str = "sqlite+aiosqlite:///var/hotline.db"
    # How often the service looks for due deadlines (warnings, 督办). Several nodes on one
    # PostgreSQL all sweep; each due order is handled by exactly one (SKIP LOCKED).
    sweep_seconds: Annotated[float, Field(gt=0)] = 30.0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


class MqttAccount(_Section):
    """A broker account: its user name and a file holding its password (never in YAML)."""

    username: str
    password_file: Path

    def password(self) -> str:
        return self.password_file.read_text(encoding="utf-8").strip()


class Mqtt(_Section):
    host: str = "127.0.0.1"
    port: int = 1883
    # Only for a broker that checks accounts (docker/mosquitto/README.md); anonymous without.
    ivr: MqttAccount | None = None
    workorders: MqttAccount | None = None


class Paths(_Section):
    var: Path = Path("var")
    recordings: Path = Path("var/recordings")
    spool: Path = Path("var/spool")
    admin_token: Path = Path("var/admin-token")
    ivr_token: Path = Path("var/ivr-token")
    edge_db: Path = Path("var/edge")  # the edge's credentials and gateways (hotline/edge_db.py)


class Asr(_Section):
    model: Path = Path("var/models/vosk-model-small-cn-0.22")


class Settings(_Section):
    edge: Edge = Field(default_factory=Edge)
    ivr: Ivr = Field(default_factory=Ivr)
    api: Api = Field(default_factory=Api)
    mqtt: Mqtt = Field(default_factory=Mqtt)
    paths: Paths = Field(default_factory=Paths)
    asr: Asr = Field(default_factory=Asr)
    calendar: Path = Path("config/calendar.yaml")
    intake: Path = Path("config/intake.yaml")
    units: Path = Path("config/units.yaml")
    sla: Path = Path("config/sla.yaml")
    agents: Path = Path("config/agents.yaml")


class SettingsError(Exception):
    """``hotline.yaml`` is unreadable or invalid."""


def load_settings(path: Path | None) -> Settings:
    if path is None or not path.exists():
        if path is not None and path != Path("config/hotline.yaml"):
            raise SettingsError(f"{path}: no such file")
        return Settings()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Settings.model_validate(data)
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise SettingsError(f"{path}: {problems}") from exc
