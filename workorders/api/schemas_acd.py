"""Pydantic models of the ACD routes' request bodies (``agents.py``), from which
``openapi_agents.py`` generates their part of the OpenAPI document."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from routing import acd
from workorders import fields
from workorders.api.schemas import Request, enum_of, one_of


class PresenceUpdate(Request):
    state: Annotated[str, one_of(acd.SETTABLE_STATES), enum_of(acd.SETTABLE_STATES)]


class QueueCallRequest(Request):
    call_id: Annotated[str, Field(pattern=fields.ASCII_CALL_ID.pattern)]
    caller: Annotated[str, Field(pattern=fields.SIP_USER.pattern)]
    skills: Annotated[
        list[Annotated[str, Field(pattern=fields.SKILL.pattern)]],
        Field(description="besides the group's"),
    ] = Field(default_factory=list)
    priority: Annotated[
        str, one_of(acd.PRIORITIES), enum_of(acd.PRIORITIES, default=acd.NORMAL)
    ] = acd.NORMAL
    order_number: Annotated[
        str | None,
        Field(
            pattern=fields.ORDER_NUMBER.pattern, description="an order already opened for the call"
        ),
    ] = None
    menu_path: Annotated[
        list[Annotated[str, Field(pattern=fields.MENU_KEY.pattern)]],
        Field(max_length=fields.MAX_MENU_DEPTH),
    ] = Field(default_factory=list)


class OfferResult(Request):
    outcome: Annotated[str, one_of(acd.OUTCOMES), enum_of(acd.OUTCOMES)]


#: Request body model of each route (by route name) whose body this module describes.
REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "put_presence": PresenceUpdate,
    "queue_call": QueueCallRequest,
    "post_offer_result": OfferResult,
}
MODELS: tuple[type[BaseModel], ...] = (PresenceUpdate, QueueCallRequest, OfferResult)
