"""One error base class for the ``ivr`` package."""


class IvrError(Exception):
    """Base class of every error raised by the IVR package."""
