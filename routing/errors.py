"""One error base class for the ``routing`` package."""


class RoutingError(Exception):
    """Base class of every error raised by the routing package."""
