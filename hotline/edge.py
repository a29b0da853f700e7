"""The Kamailio edge of a local node: the command line for ``docker/kamailio/kamailio.cfg``.

The same configuration file serves the container and the local process; the
listen address, the module path, the dispatcher list (the IVR workers calls to
the IVR number go to) and that number are passed with ``-A`` defines.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Iterable
from pathlib import Path

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


def write_dispatcher_list(
    path: Path, workers: Iterable[tuple[str, int]], up: Collection[tuple[str, int]] = ()
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(dispatcher_list(workers, up))
    partial.replace(path)
    return path


def kamailio_command(
    host: str, port: int, run_dir: Path, *, dispatcher: Path, ivr_user: str
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
        "-DD", "-E",
        "-m", "64", "-M", "8",
        "-Y", str(run_dir.resolve()),
        "-P", str((run_dir / "kamailio.pid").resolve()),
    ]  # fmt: skip
