"""Console passwords and session secrets. Pure (stdlib ``hashlib``/``secrets`` only).

Login limits (``THROTTLE_RULES``, ``after_failure``) are pure too: the store keeps the counts
in the database, so a restart or another node forgets none of them.

Passwords are stored as ``scrypt$N$r$p$salt$hash`` (salt and hash in unpadded base64url);
``verify_password`` reads the parameters back from the stored text, so they can be raised
later without invalidating older hashes. Session ids and CSRF tokens are random; the store
keeps only the SHA-256 of a session id, like API tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from workorders.errors import InvalidInput

SCHEME = "scrypt"
#: scrypt cost: N=2^14, r=8, p=1 (about 16 MiB and a few tens of ms per check).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_KEY_BYTES = 32
_SALT_BYTES = 16
_MAX_MEMORY = 64 * 1024 * 1024

MIN_PASSWORD = 8
MAX_PASSWORD = 256

#: Hash of a password nobody has, checked when the login is unknown so that a wrong login and
#: a wrong password take the same time.
_DUMMY_SALT = b"hotline-12320-no"


def check_password_text(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password"
        )
    if any(ch in password for ch in "\x00\r\n"):
        raise InvalidInput("a password holds no NUL or line breaks", field="password")
    return password


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The stored form of ``password`` (a fresh random salt unless one is given)."""
    check_password_text(password)
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join((SCHEME, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(key)))


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; ``stored=None`` (unknown login) costs the same
    work and is always false. Malformed stored text is false, never an exception."""
    if stored is None:
        _scrypt(password[:MAX_PASSWORD], _DUMMY_SALT, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return False
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return False
    try:
        n, r, p = (int(value) for value in parts[1:4])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        return False
    if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        return False
    if len(password) > MAX_PASSWORD or not 16 <= len(expected) <= 64:
        return False
    key = _scrypt(password, salt, n, r, p, len(expected))
    return hmac.compare_digest(key, expected)


def new_session_id() -> str:
    """A session id for the cookie (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def session_digest(session_id: str) -> str:
    """What the store keeps of a session id (a cookie of non-UTF-8 bytes hashes, unknown)."""
    return hashlib.sha256(session_id.encode("utf-8", "surrogateescape")).hexdigest()


def same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int = _KEY_BYTES) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEMORY, dklen=length
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not text:
        raise ValueError("empty")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """After ``limit`` failures of one ``scope`` key, each spaced less than ``window`` from the
    one before, the key is locked for ``first_lock``, doubled by every further failure (after
    the lock ran out) up to ``max_lock``."""

    scope: str
    limit: int
    window: timedelta
    first_lock: timedelta
    max_lock: timedelta


#: The console's login limits. ``pair`` (one login from one address) stops guessing from one
#: host without letting that host lock the agent out at their own desk; ``address`` stops one
#: host spraying many logins; ``login`` (from anywhere) stops guessing spread over many hosts
#: — that one can lock an agent out, but only at the cost of many hosts, and an admin unlocks
#: (``hotline console unlock LOGIN``).
THROTTLE_RULES = (
    ThrottleRule("pair", 5, timedelta(minutes=15), timedelta(minutes=1), timedelta(hours=1)),
    ThrottleRule("address", 20, timedelta(minutes=15), timedelta(minutes=5), timedelta(hours=24)),
    ThrottleRule("login", 30, timedelta(hours=1), timedelta(minutes=5), timedelta(hours=1)),
)


@dataclass(frozen=True, slots=True)
class FailureCount:
    """What the store keeps per (scope, login, address) key (``login_throttle`` rows)."""

    failures: int
    first_failure_at: datetime
    last_failure_at: datetime
    locked_until: datetime | None


def throttle_key(scope: str, login: str, address: str) -> tuple[str, str, str]:
    """The row key of a scope: ``login`` and ``address`` are blanked where the scope has none."""
    return (scope, "" if scope == "address" else login, "" if scope == "login" else address)


def after_failure(rule: ThrottleRule, count: FailureCount | None, now: datetime) -> FailureCount:
    """``count`` after one more failed login at ``now``."""
    # A lock counts as activity: the first failure after a long lock still doubles it.
    quiet_since = (
        None
        if count is None
        else max(count.last_failure_at, count.locked_until or count.last_failure_at)
    )
    if count is None or quiet_since is None or now - quiet_since > rule.window:
        failures, first = 1, now
    else:
        failures, first = count.failures + 1, count.first_failure_at
    locked_until = None
    if failures >= rule.limit:
        lock = rule.first_lock * 2 ** min(failures - rule.limit, 20)
        locked_until = now + min(lock, rule.max_lock)
    return FailureCount(failures, first, now, locked_until)


def locked_until(counts: Iterable[FailureCount], now: datetime) -> datetime | None:
    """When the latest running lock among ``counts`` ends, or None if none runs."""
    ends = [c.locked_until for c in counts if c.locked_until is not None and c.locked_until > now]
    return max(ends, default=None)
