"""The work-order HTTP API (aiohttp)."""

from workorders.api.app import API_PREFIX, OPENAPI_PATH, PRINCIPAL, ROUTES, AccessLogger, create_app

__all__ = ["API_PREFIX", "OPENAPI_PATH", "PRINCIPAL", "ROUTES", "AccessLogger", "create_app"]
