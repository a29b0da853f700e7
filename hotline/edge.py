"""The Kamailio edge of a local node: the command line for ``docker/kamailio/kamailio.cfg``.

The same configuration file serves the container and the local process; only
the listen address and the module path differ, passed with ``-A`` defines.
"""

from __future__ import annotations

import shutil
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


def kamailio_command(host: str, port: int, run_dir: Path) -> list[str]:
    binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
    if not Path(binary).exists():
        raise EdgeError("kamailio is not installed (apt-get install kamailio)")
    run_dir.mkdir(parents=True, exist_ok=True)
    return [
        binary,
        "-f", str(KAMAILIO_CFG),
        "-A", f"LISTEN=udp:{host}:{port}",
        "-A", f'MPATH="{module_dir()}/"',
        "-DD", "-E",
        "-m", "64", "-M", "8",
        "-Y", str(run_dir.resolve()),
        "-P", str((run_dir / "kamailio.pid").resolve()),
    ]  # fmt: skip
