"""One error base class for the ``recordings`` package."""


class RecordingError(Exception):
    """Base class of every error raised by the recordings package."""
