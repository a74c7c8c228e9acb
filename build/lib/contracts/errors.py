"""Errors every part may raise for bad settings."""


class ConfigError(ValueError):
    """A config file or setting is missing or invalid; the message says which and why."""
