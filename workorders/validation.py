"""Validation of API request bodies and query strings into ``workorders.model`` values.

Pure code. Every rejection is an ``InvalidInput`` naming the offending field, so the API can
answer 422 with ``error.field`` set; nothing here can raise anything else on bad input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from workorders.errors import InvalidInput, MalformedRequest
from workorders.fields import (
    CONTROL,
    CONTROL_BUT_LINE_BREAKS,
    DEFAULT_PAGE_LIMIT,
    DOMAINS,
    FIELD_LABELS,
    FLAG,
    GROUP,
    IDEMPOTENCY_KEY,
    LINE,
    MAX_CALL_ID,
    MAX_EVIDENCE,
    MAX_EVIDENCE_TEXT,
    MAX_EVIDENCE_WEIGHT,
    MAX_FLAGS,
    MAX_FLOW_VERSION,
    MAX_MENU_DEPTH,
    MAX_MENU_STEP,
    MAX_OFFSET,
    MAX_PAGE_LIMIT,
    MAX_RECORDING,
    MAX_TIMESTAMP,
    MAX_TRANSCRIPT_CHARS,
    MAX_WORKER,
    PRIORITIES,
    SIP_USER,
    STATUS_QUERY,
    TRANSCRIPT_DONE,
    TRANSCRIPT_UNAVAILABLE,
    WHOLE_NUMBER,
    is_printable_text,
    is_utf8_encodable,
)
from workorders.model import (
    AnsweredCall,
    Classification,
    Evidence,
    NewOrder,
    Page,
    TranscriptUpdate,
    category_label,
)

#: How far ``received_at`` may lie from the service's clock: the IVR spool replays intakes
#: that waited for the API (hours, at worst days), and clocks of nodes drift a little.
RECEIVED_AT_PAST = timedelta(days=30)
RECEIVED_AT_FUTURE = timedelta(minutes=10)


def parse_json_object(raw: bytes) -> dict[str, object]:
    """A request body: strict UTF-8 JSON holding an object (``MalformedRequest`` otherwise).

    ``json.loads`` on bytes would guess UTF-16 or UTF-32 and take them; the API speaks UTF-8
    only, so a body in another encoding is refused instead of stored as mojibake.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("the request body is not UTF-8 (请求内容须为 UTF-8 编码)") from None
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedRequest("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise MalformedRequest("the request body must be a JSON object")
    return body


def check_text(
    value: object, field: str, *, max_length: int, multiline: bool = False, empty: bool = True
) -> str:
    """``value`` as storable text: a string of at most ``max_length`` characters, valid
    Unicode (no lone UTF-16 surrogates, which JSON's ``\\ud800`` escapes can carry), and no
    control characters (NUL included; ``multiline`` allows tab and line breaks).

    Every free-text field of the API passes here, so the database never sees what it cannot
    store (a NUL is a PostgreSQL error, a surrogate a UTF-8 encoding error: both were 500s).
    Messages name the field, in Chinese first where the console shows it.
    """
    label = FIELD_LABELS.get(field, field)
    if not isinstance(value, str):
        raise InvalidInput(f"{label}须为文字（{field} must be a string）", field=field)
    if not empty and value == "":
        raise InvalidInput(f"{label}不能为空（{field} must not be empty）", field=field)
    if len(value) > max_length:
        raise InvalidInput(
            f"{label}过长，最多 {max_length} 个字符（{field} is longer than {max_length}）",
            field=field,
        )
    if not is_utf8_encodable(value):
        raise InvalidInput(
            f"{label}含有无法识别的字符（{field} holds invalid Unicode: a lone surrogate）",
            field=field,
        )
    control = CONTROL_BUT_LINE_BREAKS if multiline else CONTROL
    if control.search(value):
        raise InvalidInput(
            f"{label}含有控制字符（{field} holds control characters such as NUL）", field=field
        )
    return value


def parse_idempotency_key(value: str | None) -> str:
    """The ``Idempotency-Key`` header: required, 1–200 visible ASCII characters."""
    if value is None or value == "":
        raise MalformedRequest("header Idempotency-Key is required", field="Idempotency-Key")
    if not IDEMPOTENCY_KEY.matches(value):
        raise InvalidInput(
            "Idempotency-Key must be 1-200 visible ASCII characters", field="Idempotency-Key"
        )
    return value


def parse_new_order(body: Mapping[str, object], *, default_group: str, now: datetime) -> NewOrder:
    """Validate a ``POST /api/v1/workorders`` body; ``received_at`` must lie near ``now``."""
    _reject_unknown(
        body,
        {
            "caller_number",
            "category",
            "menu_path",
            "flags",
            "recording",
            "flow_version",
            "call_id",
            "group",
            "received_at",
            "domain",
            "priority",
        },
    )
    category = _required_str(body, "category")
    category_label(category)  # raises InvalidInput(field="category") when unknown
    priority = body.get("priority")
    if priority is not None and priority not in PRIORITIES:
        raise InvalidInput(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
    return NewOrder(
        caller_number=_caller(body, "caller_number"),
        category=category,
        menu_path=_menu_path(body.get("menu_path", _MISSING)),
        group=_group(body, default_group),
        flags=_flags(body.get("flags", _MISSING)),
        recording=_recording(body.get("recording")),
        flow_version=_optional_str(body, "flow_version", max_length=MAX_FLOW_VERSION),
        call_id=_optional_call_id(body),
        received_at=_received_at(body, now),
        domain=_domain(body.get("domain"), "domain"),
        priority=None if priority is None else str(priority),
    )


def parse_transcript_update(body: Mapping[str, object]) -> TranscriptUpdate:
    """Validate a ``PUT /api/v1/workorders/{number}/transcript`` body."""
    _reject_unknown(body, {"text", "status", "classification"})
    text = body.get("text", _MISSING)
    if text is _MISSING:
        raise InvalidInput("text is required", field="text")
    if not isinstance(text, str):
        raise InvalidInput("text must be a string", field="text")
    if len(text) > MAX_TRANSCRIPT_CHARS:
        raise InvalidInput(f"text is longer than {MAX_TRANSCRIPT_CHARS} characters", field="text")
    check_text(text, "text", max_length=MAX_TRANSCRIPT_CHARS, multiline=True)
    status = _required_str(body, "status")
    if status not in (TRANSCRIPT_DONE, TRANSCRIPT_UNAVAILABLE):
        raise InvalidInput("status must be done or unavailable", field="status")
    raw = body.get("classification")
    classification = None if raw is None else _classification(raw)
    return TranscriptUpdate(text=text, status=status, classification=classification)


def _classification(value: object) -> Classification:
    """``{"category", "domain", "emergency_line", "confirm_line", "evidence": [{kind, label,
    word, weight}]}``; at most one of the two lines is set (sure, or to be confirmed)."""
    where = "classification"
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be an object", field=where)
    _reject_unknown(
        value, {"category", "domain", "emergency_line", "confirm_line", "evidence"}, prefix=where
    )
    category = value.get("category")
    if not isinstance(category, str):
        raise InvalidInput(f"{where}.category is required", field=f"{where}.category")
    try:
        category_label(category)
    except InvalidInput:
        raise InvalidInput(
            f"{where}.category {category!r} is not a category", field=f"{where}.category"
        ) from None
    line = _line_or_null(value, "emergency_line", where)
    confirm = _line_or_null(value, "confirm_line", where)
    if line is not None and confirm is not None:
        raise InvalidInput(
            f"{where}: emergency_line (sure) and confirm_line (to ask) exclude each other",
            field=f"{where}.confirm_line",
        )
    evidence = value.get("evidence", [])
    if not isinstance(evidence, list) or len(evidence) > MAX_EVIDENCE:
        raise InvalidInput(
            f"{where}.evidence must be a list of at most {MAX_EVIDENCE} items",
            field=f"{where}.evidence",
        )
    return Classification(
        category=category,
        domain=_domain(value.get("domain"), f"{where}.domain"),
        emergency_line=line,
        evidence=tuple(
            _evidence(item, f"{where}.evidence[{n}]") for n, item in enumerate(evidence)
        ),
        confirm_line=confirm,
    )


def _line_or_null(value: Mapping[str, object], key: str, where: str) -> str | None:
    line = value.get(key)
    if line is not None and not LINE.matches(line):
        raise InvalidInput(
            f"{where}.{key} must be the name of a dedicated line or null", field=f"{where}.{key}"
        )
    return line


def _evidence(item: object, where: str) -> Evidence:
    if not isinstance(item, dict) or set(item) != {"kind", "label", "word", "weight"}:
        raise InvalidInput(f"{where} must be {{kind, label, word, weight}}", field=where)
    kind, label, word, weight = item["kind"], item["label"], item["word"], item["weight"]
    texts = (kind, label, word)
    if not all(is_printable_text(t, MAX_EVIDENCE_TEXT) for t in texts) or (
        not isinstance(weight, int) or isinstance(weight, bool) or abs(weight) > MAX_EVIDENCE_WEIGHT
    ):
        raise InvalidInput(
            f"{where}: kind, label and word are 1-64 printable characters, weight a small integer",
            field=where,
        )
    return Evidence(str(kind), str(label), str(word), weight)


def _domain(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in DOMAINS:
        raise InvalidInput(f"{field} must be one of {', '.join(DOMAINS)}", field=field)
    return value


def parse_answered_call(body: Mapping[str, object], *, default_group: str) -> AnsweredCall:
    """Validate a ``POST /api/v1/calls`` body."""
    _reject_unknown(body, {"call_id", "caller_number", "callee", "group", "worker"})
    call_id = _call_id(_required_str(body, "call_id"))
    callee = _required_str(body, "callee")
    if not SIP_USER.matches(callee):
        raise InvalidInput("callee must be at most 64 visible characters", field="callee")
    return AnsweredCall(
        call_id=call_id,
        caller_number=_caller(body, "caller_number"),
        callee=callee,
        group=_group(body, default_group),
        worker=_optional_str(body, "worker", max_length=MAX_WORKER),
    )


def parse_page(query: Mapping[str, str]) -> Page:
    """Validate ``?caller=&limit=&offset=`` of the list route."""
    caller = query.get("caller")
    if caller is not None and not SIP_USER.matches(caller):
        raise InvalidInput("caller must be at most 64 visible characters", field="caller")
    status = query.get("status")
    if status is not None and not STATUS_QUERY.matches(status):
        raise InvalidInput("status must be a lifecycle state", field="status")
    limit, offset = parse_limit_offset(query)
    return Page(caller=caller, limit=limit, offset=offset, status=status)


def parse_limit_offset(query: Mapping[str, str]) -> tuple[int, int]:
    """``?limit=`` (1-200, default 50) and ``?offset=`` (default 0) of list routes."""
    limit = _query_int(query, "limit", default=DEFAULT_PAGE_LIMIT, low=1, high=MAX_PAGE_LIMIT)
    offset = _query_int(query, "offset", default=0, low=0, high=MAX_OFFSET)
    return limit, offset


class _Missing:
    pass


_MISSING = _Missing()


def _reject_unknown(body: Mapping[str, object], allowed: set[str], prefix: str = "") -> None:
    for name in body:
        if name not in allowed:
            field = f"{prefix}.{name}" if prefix else name
            raise InvalidInput(f"unknown field {field!r}", field=field)


def _required_str(body: Mapping[str, object], name: str) -> str:
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        raise InvalidInput(f"{name} is required", field=name)
    if not isinstance(value, str) or value == "":
        raise InvalidInput(f"{name} must be a non-empty string", field=name)
    return value


def _optional_str(body: Mapping[str, object], name: str, *, max_length: int) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string", field=name)
    if len(value) > max_length or not value.isprintable():
        raise InvalidInput(f"{name} must be at most {max_length} printable characters", field=name)
    return value


def parse_call_id(value: str) -> str:
    """A call id from a path (``/calls/{call_id}/…``): the same rule as in bodies."""
    return _call_id(value)


def _call_id(value: str) -> str:
    """A call id (a server-issued one, or a SIP Call-ID from older IVRs): 1-255 printable
    characters. Control characters once made an MQTT topic the broker refused."""
    if len(value) > MAX_CALL_ID or not value.isprintable() or not is_utf8_encodable(value):
        raise InvalidInput(
            f"call_id must be 1-{MAX_CALL_ID} printable characters (no control characters)",
            field="call_id",
        )
    return value


def _optional_call_id(body: Mapping[str, object]) -> str | None:
    value = body.get("call_id")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput("call_id must be a string", field="call_id")
    return _call_id(value)


def _caller(body: Mapping[str, object], name: str) -> str:
    """A caller ID: required, but it may be empty (the edge saw no user part)."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        raise InvalidInput(f'{name} is required (use "" when unknown)', field=name)
    if not isinstance(value, str) or not SIP_USER.matches(value) or not is_utf8_encodable(value):
        raise InvalidInput(f"{name} must be a string of at most 64 visible characters", field=name)
    return value


def _group(body: Mapping[str, object], default: str) -> str:
    value = body.get("group")
    if value is None:
        return default
    if not GROUP.matches(value):
        raise InvalidInput(f"group must be {GROUP.says}", field="group")
    return value


def _menu_path(value: object) -> tuple[str, ...]:
    if value is _MISSING or value is None:
        raise InvalidInput("menu_path is required (a list, possibly empty)", field="menu_path")
    if not isinstance(value, list):
        raise InvalidInput("menu_path must be a list of strings", field="menu_path")
    if len(value) > MAX_MENU_DEPTH:
        raise InvalidInput(f"menu_path is deeper than {MAX_MENU_DEPTH}", field="menu_path")
    for step in value:
        if not is_printable_text(step, MAX_MENU_STEP):
            raise InvalidInput(
                "menu_path entries must be strings of 1-64 printable characters",
                field="menu_path",
            )
    return tuple(value)


def _flags(value: object) -> tuple[str, ...]:
    if value is _MISSING:
        return ()
    if not isinstance(value, list):  # null included: "no flags" is [] or leaving it out
        raise InvalidInput("flags must be a list of strings", field="flags")
    if len(value) > MAX_FLAGS:
        raise InvalidInput(f"more than {MAX_FLAGS} flags", field="flags")
    for flag in value:
        if not FLAG.matches(flag):
            raise InvalidInput(f"flags must be {FLAG.says}", field="flags")
    return tuple(dict.fromkeys(value))  # drop repeats, keep order


def _recording(value: object) -> str | None:
    """A path relative to the recordings root: no absolute paths, no ``..``, no backslashes."""
    if value is None:
        return None
    if not isinstance(value, str) or value == "":
        raise InvalidInput("recording must be a relative path or null", field="recording")
    parts = value.split("/")
    if (
        len(value) > MAX_RECORDING
        or value.startswith("/")
        or "\\" in value
        or not value.isprintable()
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise InvalidInput(
            "recording must be a relative path without '.', '..' or empty parts",
            field="recording",
        )
    return value


def parse_timestamp(value: object, name: str) -> datetime:
    """An ISO-8601 timestamp with a UTC offset, as UTC. Years 1 and 9999 parse but overflow
    once shifted to UTC; that is bad input here, not an error in the store."""
    if not isinstance(value, str) or len(value) > MAX_TIMESTAMP:
        raise InvalidInput(f"{name} must be an ISO-8601 string", field=name)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} is not an ISO-8601 timestamp", field=name) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs a UTC offset (e.g. Z or +08:00)", field=name)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{name} is out of range", field=name) from None


def _received_at(body: Mapping[str, object], now: datetime) -> datetime | None:
    """When the call arrived: at most ``RECEIVED_AT_PAST`` before ``now`` (a spooled intake)
    and ``RECEIVED_AT_FUTURE`` after it (clock drift). Year 7161 is a typo, not an order."""
    value = body.get("received_at")
    if value is None:
        return None
    moment = parse_timestamp(value, "received_at")
    if not now - RECEIVED_AT_PAST <= moment <= now + RECEIVED_AT_FUTURE:
        raise InvalidInput(
            f"受理时间须在最近 {RECEIVED_AT_PAST.days} 天内（received_at must lie between "
            f"{RECEIVED_AT_PAST.days} days before and {_minutes(RECEIVED_AT_FUTURE)} minutes "
            "after the service's clock）",
            field="received_at",
        )
    return moment


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _query_int(query: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not WHOLE_NUMBER.matches(raw):
        raise InvalidInput(f"{name} must be a whole number", field=name)
    value = int(raw)
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}", field=name)
    return value
