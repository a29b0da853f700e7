"""The Kamailio edge of a local node: the command line for ``docker/kamailio/kamailio.cfg``.

The same configuration file serves the container and the local process; the
listen address, the module path, the dispatcher list (the IVR workers calls to
the IVR number go to) and that number are passed with ``-A`` defines.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from settings.node import Settings

REPO = Path(__file__).resolve().parents[1]
KAMAILIO_CFG = REPO / "docker" / "kamailio" / "kamailio.cfg"
MODULE_DIRS = (
    Path("/usr/lib/x86_64-linux-gnu/kamailio/modules"),
    Path("/usr/lib/aarch64-linux-gnu/kamailio/modules"),
    Path("/usr/lib/kamailio/modules"),
)


class EdgeError(Exception):
    """Kamailio is missing or cannot be configured."""


def module_dir() -> Path:
    for candidate in MODULE_DIRS:
        if (candidate / "tm.so").exists():
            return candidate
    raise EdgeError("Kamailio modules not found (apt-get install kamailio)")


#: The dispatcher set of the IVR workers in ``kamailio.cfg``.
IVR_SET = 1


#: Flags of a worker in the list: inactive and probing (1 + 8). A worker gets calls
#: only after it answered a probe; the edge logs ``IVR worker sip:HOST:PORT up`` then.
NEW_WORKER_FLAGS = 9
#: Flags of a worker known to be up when the edge is restarted: active and probing. An
#: edge that came back after a crash sends calls at once instead of refusing them until
#: its first probe round; a probe that goes unanswered takes the worker out as usual.
UP_WORKER_FLAGS = 8


def dispatcher_list(
    workers: Iterable[tuple[str, int]], up: Collection[tuple[str, int]] = ()
) -> str:
    """The dispatcher's list file: one line per IVR worker (``host``, SIP ``port``); those
    in ``up`` are listed active."""
    return "".join(
        f"{IVR_SET} sip:{host}:{port} "
        f"{UP_WORKER_FLAGS if (host, port) in up else NEW_WORKER_FLAGS} 0 duid=ivr-{n}\n"
        for n, (host, port) in enumerate(workers, start=1)
    )


def worker_up_line(host: str, port: int) -> str:
    """What the edge logs when the dispatcher starts sending calls to a worker."""
    return f"IVR worker sip:{host}:{port} up"


def worker_restarted_line(host: str, port: int) -> str:
    """What the edge logs when a worker registers again as a new process (kamailio.cfg
    ``WORKER_REGISTER``): it ends the old process's calls, and a restart quicker than the
    probes leaves the worker in rotation, with no "down" and "up" lines."""
    return f"IVR worker sip:{host}:{port} restarted"


def write_dispatcher_list(
    path: Path, workers: Iterable[tuple[str, int]], up: Collection[tuple[str, int]] = ()
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(dispatcher_list(workers, up))
    partial.replace(path)
    return path


#: Shared memory (MB): tm ran out at 64 MB under a corpus replay at flood rate.
SHM_MB = 256
#: Private memory per process (MB).
PKG_MB = 16


@dataclass(frozen=True)
class EdgePolicy:
    """What the edge trusts and tolerates (hotline.yaml ``edge``), as ``-A`` defines."""

    db_dir: Path
    allow: tuple[str, ...] = ("127.0.0.1/32",)
    rate: int = 30
    ban_seconds: int = 600
    realm: str = "hotline"

    def defines(self) -> list[str]:
        allow = ",".join(self.allow)
        if not re.fullmatch(r"[0-9a-fA-F.:/,]+", allow):
            raise EdgeError(f"edge.allow must be addresses or networks, not {allow!r}")
        if not re.fullmatch(r"[-0-9A-Za-z_.]+", self.realm):
            raise EdgeError(f"edge.realm must be a plain word, not {self.realm!r}")
        return [
            "-A", f'DBURL="text://{self.db_dir.resolve()}"',
            "-A", f'ALLOW="{allow}"',
            "-A", f"RATE={self.rate}",
            "-A", f"BAN_SECONDS={self.ban_seconds}",
            "-A", f'AUTH_REALM="{self.realm}"',
        ]  # fmt: skip


def own_networks(allow: Iterable[str], *hosts: str) -> tuple[str, ...]:
    """The allow-list: the configured networks plus the node's own hosts."""
    out = [str(ipaddress.ip_network(a, strict=False)) for a in allow]
    out += [str(ipaddress.ip_network(h)) for h in hosts if _is_address(h)]
    return tuple(dict.fromkeys(out))


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


#: The edge's log writer (hotline/edge_log.py), run as a script: stdlib only.
EDGE_LOG_SCRIPT = Path(__file__).with_name("edge_log.py")


def logged_command(command: list[str], log: Path, *, max_mb: int = 10, keep: int = 5) -> list[str]:
    """``command`` with its output cleaned (no SIP messages, numbers masked) into ``log``,
    rotated at ``max_mb``, ``keep`` old files."""
    return [
        sys.executable, str(EDGE_LOG_SCRIPT), "--log", str(log.resolve()),
        "--max-bytes", str(max_mb * 1_000_000), "--keep", str(keep), "--", *command,
    ]  # fmt: skip


def kamailio_command(
    host: str, port: int, run_dir: Path, *, dispatcher: Path, ivr_user: str, policy: EdgePolicy
) -> list[str]:
    binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
    if not Path(binary).exists():
        raise EdgeError("kamailio is not installed (apt-get install kamailio)")
    if not ivr_user.isdigit():
        raise EdgeError(f"ivr.extension must be digits, not {ivr_user!r}")
    run_dir.mkdir(parents=True, exist_ok=True)
    return [
        binary,
        "-f", str(KAMAILIO_CFG),
        "-A", f"LISTEN=udp:{host}:{port}",
        "-A", f'MPATH="{module_dir()}/"',
        "-A", f'DSLIST="{dispatcher.resolve()}"',
        "-A", f'IVR_USER="{ivr_user}"',
        *policy.defines(),
        "-DD", "-E",
        "-m", str(SHM_MB), "-M", str(PKG_MB),
        "-Y", str(run_dir.resolve()),
        "-P", str((run_dir / "kamailio.pid").resolve()),
    ]  # fmt: skip


def edge_policy(settings: Settings) -> EdgePolicy:
    """The edge's policy from hotline.yaml; writes its gateways table (hotline/edge_db.py)."""
    from hotline.edge_db import EdgeDbError, write_tables

    edge = settings.edge
    try:
        db_dir = write_tables(settings.paths.edge_db, edge.gateways)
    except EdgeDbError as exc:
        raise EdgeError(f"edge.gateways: {exc}") from exc
    return EdgePolicy(
        db_dir=db_dir,
        allow=own_networks(edge.allow, edge.host, settings.ivr.host),
        rate=edge.rate,
        ban_seconds=edge.ban_seconds,
        realm=edge.realm,
    )
