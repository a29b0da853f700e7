"""Persistence of the work-order service; the only package that imports SQLAlchemy."""

from routing.clock import Clock, system_clock
from workorders.store.store import Store

__all__ = ["Clock", "Store", "system_clock"]
