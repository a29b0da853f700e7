"""Issue 13, item 13: every read path applies the order's own masking policy
(``workorders.access.order_view``) — a unit user against a hotline (centre) user, on SQLite
and PostgreSQL — and every unmasked read is audited."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from workorders.api import create_app
from workorders.store import Store

pytestmark = pytest.mark.integration

REGION = "内蒙古/呼和浩特/赛罕区"
CALLER = "13800138000"
USERS = {
    "ivr": ("ivr", None),
    "taker": ("call_taker", None),  # the hotline centre
    "sup": ("supervisor", None),
    "hospital": ("handler", "saihan-hospital"),  # the unit complained about
    "supervision": ("handler", "saihan-supervision"),  # the unit handling the complaint
    "saihan-lead": ("leader", "saihan"),
    "baotou-lead": ("leader", "baotou"),
}
TRANSCRIPT = (
    "我叫王小明 电话 一 三 九 零 零 一 三 九 零 零 零 住在赛罕区某路1号 "
    "医院多收了我的钱 我另一个号码是 13700137000"
)
_keys = itertools.count()


@dataclass
class Api:
    client: TestClient[Any, Any]
    store: Store
    tokens: dict[str, str]
    recordings: Path

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    async def call(self, method: str, user: str, path: str, status: int = 200, **kw: Any) -> Any:
        headers = {**self.auth(user), "Idempotency-Key": f"k-{next(_keys)}"}
        response = await self.client.request(method, path, headers=headers, **kw)
        assert response.status == status, await response.text()
        return await response.json() if response.content_type == "application/json" else None

    async def create(self, **extra: Any) -> str:
        body = {"caller_number": CALLER, "category": "complaint", "menu_path": ["2"], **extra}
        order = await self.call("POST", "ivr", "/api/v1/workorders", 201, json=body)
        number: str = order["number"]
        return number

    async def complaint_about_the_hospital(self, *, confidential: bool = False) -> str:
        """An order about saihan-hospital, handled by saihan-supervision, with the caller's
        details and a transcript that names them."""
        n = await self.create(recording="2025/03/14/c.wav")
        caller = {"caller_name": "王小明", "callback_number": "13900139000",
                  "address": "赛罕区某路1号", "confidential": confidential}  # fmt: skip
        await self.call("PUT", "taker", f"/api/v1/workorders/{n}/caller", json=caller)
        update = {"text": TRANSCRIPT, "status": "done"}
        await self.call("PUT", "ivr", f"/api/v1/workorders/{n}/transcript", json=update)
        await self.call("POST", "taker", f"/api/v1/workorders/{n}/actions", 201,
                        json={"action": "classify", "mode": "dispatch", "region": REGION,
                              "domain": "medical_fees", "about_unit": "saihan-hospital",
                              "unit": "saihan-supervision"})  # fmt: skip
        return n


@pytest.fixture
async def api(store: Store, tmp_path: Path) -> AsyncIterator[Api]:
    tokens = {name: await store.people.create_token(name, role, unit) for name, (role, unit) in
              USERS.items()}  # fmt: skip
    recordings = tmp_path / "recordings"
    (recordings / "2025/03/14").mkdir(parents=True)
    (recordings / "2025/03/14/c.wav").write_bytes(b"RIFF....WAVE")
    async with TestClient(TestServer(create_app(store, recordings=recordings))) as client:
        yield Api(client, store, tokens, recordings)


async def audited(api: Api, number: str) -> list[tuple[str, str]]:
    return [(r.actor, r.reason) for r in await api.store.audit.audit_log(number=number)]


async def test_a_unit_cannot_search_by_caller(api: Api) -> None:
    n = await api.complaint_about_the_hospital()
    for unit_user in ("supervision", "hospital", "saihan-lead"):
        await api.call("GET", unit_user, f"/api/v1/workorders?caller={CALLER}", 403)
    found = await api.call("GET", "taker", f"/api/v1/workorders?caller={CALLER}")
    assert [order["number"] for order in found["items"]] == [n]
    assert ("taker", "list_orders") in await audited(api, n)


async def test_the_repeat_link_is_shown_to_the_centre_only(api: Api) -> None:
    first = await api.complaint_about_the_hospital()
    second = await api.create()
    await api.call("POST", "taker", f"/api/v1/workorders/{second}/actions", 201,
                   json={"action": "classify", "mode": "dispatch", "region": REGION,
                         "domain": "medical_fees", "unit": "saihan-hospital"})  # fmt: skip
    centre = await api.call("GET", "taker", f"/api/v1/workorders/{second}")
    assert centre["repeat_of"] == first
    unit = await api.call("GET", "hospital", f"/api/v1/workorders/{second}")
    assert unit["repeat_of"] is None and unit["call_id"] is None
    # ... and not through the ledger either.
    ledger = await api.call("GET", "hospital", f"/api/v1/workorders/{second}/ledger")
    links = [e["data"] for e in ledger["items"] if e["action"] == "link_repeat"]
    assert links == [{"repeat_of": None}]
    ledger = await api.call("GET", "taker", f"/api/v1/workorders/{second}/ledger")
    assert [e["data"] for e in ledger["items"] if e["action"] == "link_repeat"] == [
        {"repeat_of": first}
    ]
    # The hidden complaint itself stays out of the unit's reach.
    await api.call("GET", "hospital", f"/api/v1/workorders/{first}", 404)


async def test_transcripts_reach_units_redacted(api: Api) -> None:
    n = await api.complaint_about_the_hospital()
    handling = await api.call("GET", "supervision", f"/api/v1/workorders/{n}")
    text = handling["description"]
    for secret in ("王小明", "赛罕区某路1号", "13700137000", "一 三 九 零"):
        assert secret not in text
    assert "医院多收了我的钱" in text  # the complaint itself stays readable
    assert handling["identity"] == "masked"
    listed = await api.call("GET", "supervision", "/api/v1/workorders")
    assert [order["description"] for order in listed["items"]] == [text]
    centre = await api.call("GET", "taker", f"/api/v1/workorders/{n}")
    assert centre["description"] == TRANSCRIPT
    readers = {actor for actor, _reason in await audited(api, n)}
    assert "taker" in readers and "supervision" not in readers


async def test_recordings_are_refused_to_units_and_audited_for_the_centre(api: Api) -> None:
    n = await api.complaint_about_the_hospital(confidential=True)
    await api.call("GET", "supervision", f"/api/v1/workorders/{n}/recording", 403)
    await api.call("GET", "saihan-lead", f"/api/v1/workorders/{n}/recording", 403)
    response = await api.client.get(f"/api/v1/workorders/{n}/recording", headers=api.auth("sup"))
    assert response.status == 200
    assert ("sup", "recording") in await audited(api, n)
    hidden = await api.call("GET", "supervision", f"/api/v1/workorders/{n}")
    assert hidden["identity"] == "hidden" and hidden["caller_number"] is None


async def test_a_unit_leader_reads_only_their_units_supervisions(api: Api) -> None:
    n = await api.complaint_about_the_hospital()
    await api.call("POST", "sup", f"/api/v1/workorders/{n}/actions", 201,
                   json={"action": "supervise", "reason": "群众反映强烈"})  # fmt: skip
    everyone = await api.call("GET", "sup", "/api/v1/supervisions")
    assert [s["order_number"] for s in everyone["items"]] == [n]
    own = await api.call("GET", "saihan-lead", "/api/v1/supervisions")
    assert [s["order_number"] for s in own["items"]] == [n]
    other = await api.call("GET", "baotou-lead", "/api/v1/supervisions")
    assert other["items"] == []
    other = await api.call("GET", "baotou-lead", f"/api/v1/supervisions?number={n}")
    assert other["items"] == []


# -- the pure policy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("回拨 139-0013-9000 谢谢", "回拨 ＊＊＊ 谢谢"),
        ("身份证 150102199001011234", "身份证 ＊＊＊"),
        ("幺 三 八 零 零 幺 三 八 零 零 零", "＊＊＊"),
        ("两个孩子 三天 120 急救", "两个孩子 三天 120 急救"),  # short numbers stay
        ("王小明说王小明的地址是赛罕区某路1号", "＊＊＊说＊＊＊的地址是＊＊＊"),
    ],
)
def test_redact_transcript(text: str, expected: str) -> None:
    from workorders.access import redact_transcript

    assert redact_transcript(text, ["王小明", "赛罕区某路1号", None, ""]) == expected


def test_only_a_full_view_may_search_by_caller() -> None:
    from routing.units import OrgTree
    from workorders.access import may_search_identity
    from workorders.rules import load_rules
    from workorders.tokens import Principal

    tree: OrgTree = load_rules(
        Path("config/calendar.yaml"), Path("config/units.yaml"), Path("config/sla.yaml")
    ).tree
    assert may_search_identity(Principal("t", "call_taker", None), tree)
    assert not may_search_identity(Principal("h", "handler", "saihan-cdc"), tree)
    assert not may_search_identity(Principal("l", "leader", "saihan"), tree)
