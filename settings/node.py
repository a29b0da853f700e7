"""``config/hotline.yaml``: where everything of one node listens and lives.

Read by every package that runs part of the node (``ivr``, ``workorders``, ``routing``); the
``hotline`` commands only pass the file's path on. Errors name ``file:line:col``.

Relative paths in the file never depend on the directory ``hotline`` runs in (a
``check-config`` of a copy must check the copy, and ``hotline up`` from a cron job must
find the same files as from a shell). Two anchors, because a node has two kinds of files:

- configuration (``ivr.menu``, ``ivr.prompt_texts``, ``calendar``, ``intake``, ``units``,
  ``sla``, ``agents``) is relative to the directory of ``hotline.yaml`` (the config
  directory): it travels with the copy;
- state (``paths.*``, ``ivr.prompt_audio``, ``asr.model``, MQTT password files, a SQLite
  ``api.database``) is relative to the project root, the parent of the config directory:
  for the shipped ``config/hotline.yaml`` that is the checkout, so ``var/`` stays where
  ``./dev up`` has always put it.

``load_settings`` returns the paths joined to those anchors: absolute when the config
path was, else relative to the working directory of the loading process (which nothing
changes afterwards), so messages name files as the user typed them.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from settings.errors import SettingsError
from settings.located import Problem, read_located


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
    # Calls one worker takes at once; more get 503 + Retry-After (None: as RTP ports allow).
    max_calls: Annotated[int, Field(ge=1)] | None = None
    extension: str = "12320"
    menu: Path = Path("menus/12320.yaml")  # relative to the config directory
    prompt_texts: Path = Path("prompts/zh.yaml")
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
    # Relative to the config directory (the one holding hotline.yaml).
    calendar: Path = Path("calendar.yaml")
    intake: Path = Path("intake.yaml")
    units: Path = Path("units.yaml")
    sla: Path = Path("sla.yaml")
    agents: Path = Path("agents.yaml")

    def anchored(self, config_dir: Path) -> Settings:
        """The same settings with every relative path joined to its anchor (module doc):
        configuration to ``config_dir``, state to its parent, the project root."""
        root = (
            config_dir.parent if config_dir.name not in ("", "..") else config_dir.resolve().parent
        )

        def conf(path: Path) -> Path:
            return config_dir / path

        def state(path: Path) -> Path:
            return root / path

        def account(acc: MqttAccount | None) -> MqttAccount | None:
            return (
                None
                if acc is None
                else acc.model_copy(update={"password_file": state(acc.password_file)})
            )

        ivr = self.ivr.model_copy(
            update={
                "menu": conf(self.ivr.menu),
                "prompt_texts": conf(self.ivr.prompt_texts),
                "prompt_audio": state(self.ivr.prompt_audio),
            }
        )
        paths = self.paths.model_copy(
            update={name: state(getattr(self.paths, name)) for name in Paths.model_fields}
        )
        return self.model_copy(
            update={
                "ivr": ivr,
                "paths": paths,
                "api": self.api.model_copy(
                    update={"database": sqlite_anchored(self.api.database, root)}
                ),
                "mqtt": self.mqtt.model_copy(
                    update={
                        "ivr": account(self.mqtt.ivr),
                        "workorders": account(self.mqtt.workorders),
                    }
                ),
                "asr": self.asr.model_copy(update={"model": state(self.asr.model)}),
                **{name: conf(getattr(self, name)) for name in CONFIG_FILES},
            }
        )


#: Top-level settings naming configuration files (relative to the config directory).
CONFIG_FILES = ("calendar", "intake", "units", "sla", "agents")
DEFAULT_CONFIG = Path("config/hotline.yaml")


def sqlite_anchored(database: str, root: Path) -> str:
    """A SQLite URL with a relative file (``sqlite+aiosqlite:///var/hotline.db``) moved under
    ``root``; an absolute file, ``:memory:`` or another database unchanged."""
    scheme, sep, rest = database.partition(":///")
    if not sep or not scheme.startswith("sqlite"):
        return database
    name, query_sep, query = rest.partition("?")
    if not name or name.startswith("/") or name == ":memory:":
        return database
    return f"{scheme}:///{root / name}{query_sep}{query}"


def load_settings(path: Path | None, *, required: bool | None = None) -> Settings:
    """``path`` (default ``config/hotline.yaml``), its paths anchored (see the module doc).

    A missing file is an error unless ``required`` is false, which it is by default only
    for the default path: then the defaults apply, anchored at the file's directory.
    """
    path = DEFAULT_CONFIG if path is None else path
    if required is None:
        required = path != DEFAULT_CONFIG
    if not path.exists():
        if required:
            raise SettingsError(f"{path}: no such file")
        return Settings().anchored(path.parent)
    _, located = read_located(path, "settings", _error)
    data = located.document.data
    try:
        return Settings.model_validate({} if data is None else data).anchored(path.parent)
    except ValidationError as exc:
        raise _error(located.validation_problems(exc, model=Settings)) from exc


def _error(problems: list[Problem]) -> SettingsError:
    return SettingsError("\n".join(str(problem) for problem in problems))
