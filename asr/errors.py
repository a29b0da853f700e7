"""One error base class for the ``asr`` package."""


class AsrError(Exception):
    """Base class of every error raised by the ASR package."""


class ModelUnavailable(AsrError):
    """The speech model directory is missing or Vosk could not load it."""


class UnsupportedAudio(AsrError):
    """The audio is not 16-bit signed mono PCM (or not readable at all)."""


class ModelConfigError(ModelUnavailable):
    """A model's Kaldi configuration (``conf/*.conf``) cannot be read or makes no sense."""
