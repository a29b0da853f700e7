"""The edge's own tables: agent phone credentials and the static gateways.

Kamailio reads them with ``db_text`` (one text file per table in one directory,
``paths.var/edge`` by default): ``subscriber`` holds ``HA1 = md5(user:realm:password)``
per SIP user — never a password — for ``auth_db``; ``gateways`` maps a dedicated line's
user (``120``) to the SIP URI of its gateway, loaded into an ``htable``. A file is
used rather than the work-order database so that the edge needs no database driver
and keeps authenticating phones while the database is down. ``db_text`` re-reads a
table file when it changed, so a new password counts at the phone's next REGISTER.

Pure functions build the file texts; ``write_*`` replace a file atomically.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

#: The dedicated emergency lines: static gateways, never registrable, whatever the config.
EMERGENCY_USERS = frozenset({"110", "119", "120", "122"})

#: Table versions ``auth_db`` and ``htable`` expect in the ``version`` table.
TABLE_VERSIONS = {"subscriber": 7, "gateways": 2}

SUBSCRIBER_HEADER = "username(str) domain(str,null) ha1(str) ha1b(str,null)"
GATEWAYS_HEADER = "key_name(str) key_type(int) value_type(int) key_value(str) expires(int)"

_USER = re.compile(r"^[0-9A-Za-z][-0-9A-Za-z_.]{0,31}$")


class EdgeDbError(Exception):
    """A user name, gateway or credentials file the edge cannot use."""


def ha1(user: str, realm: str, password: str) -> str:
    """RFC 2617 HA1: what digest authentication needs, and all the edge stores."""
    return hashlib.md5(
        f"{user}:{realm}:{password}".encode()
    ).hexdigest()  # RFC 2617: MD5 by definition


def check_user(user: str) -> str:
    if not _USER.match(user):
        raise EdgeDbError(f"{user!r} is not a SIP user name (digits, letters, - _ .)")
    return user


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def _unescape(field: str) -> str:
    return re.sub(r"\\(.)", r"\1", field)


def _fields(line: str) -> list[str]:
    return [_unescape(f) for f in re.split(r"(?<!\\):", line)]


def subscriber_table(credentials: Mapping[str, str]) -> str:
    """``credentials``: user -> HA1."""
    rows = [f"{_escape(user)}::{ha1_}:" for user, ha1_ in sorted(credentials.items())]
    return "\n".join([SUBSCRIBER_HEADER, *rows]) + "\n"


def parse_subscriber_table(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and lines[0].strip() != SUBSCRIBER_HEADER:
        raise EdgeDbError(f"unexpected subscriber table header {lines[0]!r}")
    out: dict[str, str] = {}
    for line in lines[1:]:
        fields = _fields(line)
        if len(fields) != 4 or not re.fullmatch(r"[0-9a-f]{32}", fields[2]):
            raise EdgeDbError(f"bad subscriber row {line!r}")
        out[fields[0]] = fields[2]
    return out


def gateways_table(gateways: Mapping[str, str]) -> str:
    """``gateways``: user -> SIP URI (``sip:HOST[:PORT]``) of the line's gateway."""
    rows = [
        f"{_escape(check_user(user))}:0:0:{_escape(_check_uri(uri))}:0"
        for user, uri in sorted(gateways.items())
    ]
    return "\n".join([GATEWAYS_HEADER, *rows]) + "\n"


def _check_uri(uri: str) -> str:
    if not re.fullmatch(r"sips?:[-0-9A-Za-z_.]+(:[0-9]{1,5})?(;transport=(udp|tcp|tls))?", uri):
        raise EdgeDbError(f"gateway {uri!r} is not sip:HOST[:PORT]")
    return uri


def version_table() -> str:
    rows = [f"{name}:{version}" for name, version in TABLE_VERSIONS.items()]
    return "\n".join(["table_name(str) table_version(int)", *rows]) + "\n"


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(0o640)
    partial.replace(path)


def read_credentials(db_dir: Path) -> dict[str, str]:
    path = db_dir / "subscriber"
    if not path.exists():
        return {}
    return parse_subscriber_table(path.read_text(encoding="utf-8"))


def write_tables(db_dir: Path, gateways: Mapping[str, str]) -> Path:
    """The version and gateways tables, and an empty subscriber table if there is none."""
    _replace(db_dir / "version", version_table())
    _replace(db_dir / "gateways", gateways_table(gateways))
    if not (db_dir / "subscriber").exists():
        _replace(db_dir / "subscriber", subscriber_table({}))
    return db_dir


def unregistrable(gateways: Iterable[str], service_numbers: Iterable[str]) -> frozenset[str]:
    """Users no phone may register as: the emergency lines, the gateways, the service numbers."""
    return EMERGENCY_USERS | frozenset(gateways) | frozenset(service_numbers)


def set_password(
    db_dir: Path, user: str, realm: str, password: str, *, forbidden: frozenset[str]
) -> bool:
    """Store ``user``'s HA1; True if the user is new. ``forbidden`` users are refused."""
    check_user(user)
    if user in forbidden:
        raise EdgeDbError(f"{user} is a dedicated line or service number: a static gateway, "
                          "never registrable")  # fmt: skip
    if len(password) < 8:
        raise EdgeDbError("the password needs at least 8 characters")
    credentials = read_credentials(db_dir)
    created = user not in credentials
    credentials[user] = ha1(user, realm, password)
    _replace(db_dir / "subscriber", subscriber_table(credentials))
    return created


def remove_user(db_dir: Path, user: str) -> bool:
    credentials = read_credentials(db_dir)
    if credentials.pop(user, None) is None:
        return False
    _replace(db_dir / "subscriber", subscriber_table(credentials))
    return True
