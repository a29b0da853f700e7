"""API bearer tokens: generation, hashing, and who a token speaks for.

Tokens are shown in clear exactly once (when created); the store keeps only their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from workorders.errors import InvalidInput

ROLE_ADMIN = "admin"
ROLE_IVR = "ivr"
ROLE_CALL_TAKER = "call_taker"  # 接线员
ROLE_SUPERVISOR = "supervisor"  # centre supervisor (管理员/督办)
ROLE_DISPATCHER = "dispatcher"  # sub-centre dispatcher (分中心派单员)
ROLE_HANDLER = "handler"  # unit handler / liaison officer (承办人、联络员)
ROLE_LEADER = "leader"  # supervising leader (主管领导)
ROLE_SYSTEM = "system"  # the deadline scheduler; never a token
#: ``ivr`` is the service account IVR workers use; ``admin`` is for operators and tooling.
ROLES = (
    ROLE_ADMIN,
    ROLE_IVR,
    ROLE_CALL_TAKER,
    ROLE_SUPERVISOR,
    ROLE_DISPATCHER,
    ROLE_HANDLER,
    ROLE_LEADER,
)
#: Roles that belong to a sub-centre or unit and therefore need one.
UNIT_ROLES = (ROLE_DISPATCHER, ROLE_HANDLER)

_TOKEN_PREFIX = "wo_"


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a valid token."""

    name: str
    role: str
    unit: str | None = None


def new_token() -> str:
    """A fresh random token (256 bits of entropy, URL-safe)."""
    return _TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the store keeps: the hex SHA-256 of the clear token. A header with bytes that
    are not UTF-8 arrives with surrogates (aiohttp decodes with ``surrogateescape``); they
    are hashed back as those bytes, so such a token is unknown (401), not an error (500)."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(
            f"unknown role {role!r}; expected one of {'|'.join(ROLES)}", field="role"
        )
    return role


def check_token_text(token: str) -> str:
    """A token read back from a file: one line of visible ASCII, long enough to be a secret."""
    if len(token) < 32 or not all("\x21" <= ch <= "\x7e" for ch in token):
        raise InvalidInput("token must be at least 32 visible ASCII characters", field="token")
    return token
