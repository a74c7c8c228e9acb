"""How a Forewarn client reaches an MQTT broker: the one place both sides configure it.

The agent's ``[mqtt]`` and the ingester's ``[mqtt]`` tables both extend
``MqttConnection``; TLS and credentials, when they come, come here once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import ConfigError


def parse_mqtt_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` -> (host, port); the port defaults to 1883.

    >>> parse_mqtt_url("mqtt://127.0.0.1:1884")
    ('127.0.0.1', 1884)
    """
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ConfigError(f"MQTT URL {url!r} must look like mqtt://host[:port] (TLS: not yet)")
    return parts.hostname, parts.port or 1883


class MqttConnection(BaseModel):
    """Where the broker is and how this client introduces itself."""

    model_config = ConfigDict(extra="forbid")

    url: str = "mqtt://127.0.0.1:1883"
    client_id: str | None = None
    keepalive_s: int = Field(default=30, ge=5)

    @field_validator("url")
    @classmethod
    def _valid_url(cls, url: str) -> str:
        parse_mqtt_url(url)
        return url

    def endpoint(self) -> tuple[str, int]:
        """(host, port) of the broker."""
        return parse_mqtt_url(self.url)
