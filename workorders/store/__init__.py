"""Persistence of the work-order service; the only package that imports SQLAlchemy."""

from workorders.store.store import Clock, Store, utc_now

__all__ = ["Clock", "Store", "utc_now"]
