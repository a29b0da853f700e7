"""The ACD in the database, on SQLite and PostgreSQL: persistence and one authority."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from routing import acd
from routing.agents import AgentsConfig, load_agents, parse_agents
from tests.workorders.conftest import FakeClock
from workorders.store import Store

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def agents() -> AgentsConfig:
    return load_agents(REPO / "config/agents.yaml")


async def test_the_state_survives_a_restart(store: Store, database_url: str, clock: FakeClock
                                            ) -> None:  # fmt: skip
    store.acd.use_agents(agents())
    await store.acd.acd_step(acd.PresenceSet("a1001", acd.READY))
    clock.advance(seconds=5)
    await store.acd.acd_step(acd.PresenceSet("a1002", acd.AWAY))
    step = await store.acd.acd_step(
        acd.CallQueued(
            "call-1", "intake", "13800138000", frozenset({"cantonese"}), acd.EMERGENCY, None, ("0",)
        )
    )
    assert [type(a) for a in step.actions][:1] == [acd.Offer]
    await store.acd.acd_step(acd.CallQueued("call-2", "intake", "13900139000"))
    async with Store.open(database_url, clock=clock) as again:
        again.acd.use_agents(agents())
        state, _ = await again.acd.acd_state()
    assert state.agents == step.state.agents | {"a1002": state.agents["a1002"]}
    assert state.agents["a1002"].state == acd.AWAY
    assert state.calls["call-1"] == step.state.calls["call-1"]
    assert state.calls["call-1"].skills == {"cantonese"}
    assert state.calls["call-1"].menu_path == ("0",)
    assert state.positions() == {"call-2": 1}


async def test_finished_calls_are_deleted_after_a_while(store: Store, clock: FakeClock) -> None:
    store.acd.use_agents(agents())
    await store.acd.acd_step(acd.PresenceSet("a1001", acd.AWAY))
    await store.acd.acd_step(acd.CallQueued("call-1", "intake", "13800138000"))
    await store.acd.acd_step(acd.CallLeft("call-1", "hangup"))
    clock.advance(minutes=11)
    step = await store.acd.acd_tick()
    assert step is not None and acd.CallForgotten("call-1") in step.actions
    assert await store.acd.acd_tick() is None  # nothing queued: no step at all
    state, _ = await store.acd.acd_state()
    assert state.calls == {}


CROWD = """
groups:
  intake: {label: 受理组}
agents:
""" + "".join(
    f'  - {{login: a{n}, name: 坐席{n}, extension: "{1000 + n}", groups: [intake]}}\n'
    for n in range(6)
)


async def test_two_service_instances_on_one_database_never_offer_twice(
    store: Store, database_url: str, clock: FakeClock
) -> None:
    """Presence changes and queued calls race through two stores (two service processes'
    worth of connections): every offer is made once, to an agent holding no other call."""
    config = parse_agents(CROWD)
    store.acd.use_agents(config)
    async with Store.open(database_url, clock=clock) as other:
        other.acd.use_agents(config)
        instances = (store, other)
        # Signed in (away) first: a call queued before anyone is ready waits instead of
        # timing out for want of agents, whatever order the race takes.
        await store.acd.acd_step(acd.PresenceSet("a0", acd.AWAY))
        steps: list[acd.Event] = []
        for n in range(6):
            steps.append(acd.PresenceSet(f"a{n}", acd.READY))
            steps += [acd.CallQueued(f"c{n}-{k}", "intake", f"1380000{n}{k}") for k in range(3)]
        results = await asyncio.gather(
            *(instances[i % 2].acd.acd_step(event) for i, event in enumerate(steps))
        )
        state, _ = await other.acd.acd_state()
    offers = [a for r in results for a in r.actions if isinstance(a, acd.Offer)]
    assert len(offers) == 6  # six agents, eighteen calls
    assert len({o.call_id for o in offers}) == 6
    assert len({o.agent for o in offers}) == 6
    for offer in offers:
        assert state.agents[offer.agent].call_id == offer.call_id
        assert state.calls[offer.call_id].agent == offer.agent
    pops = [m for m in await store.outbox.outbox(limit=1000) if m.event["type"] == "call.offered"]
    assert sorted(m.topic for m in pops) == sorted(f"hotline/agents/{o.agent}/pops" for o in offers)
    assert sorted(state.positions().values()) == list(range(1, 13))
