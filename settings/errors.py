"""One error base class for the ``settings`` package."""


class ConfigError(Exception):
    """Base class of every error raised by the settings package."""


class SettingsError(ConfigError):
    """``hotline.yaml`` is unreadable or invalid (or describes a node that cannot run)."""
