"""How a Forewarn client reaches an MQTT broker: the one place both sides configure it.

The agent's ``[mqtt]`` and the ingester's ``[mqtt]`` tables both extend
``MqttConnection``: the URL (``mqtt://`` or ``mqtts://`` for TLS), credentials, the CA
that signs the broker's certificate and an optional client certificate (mutual TLS).

Secrets never reach a log: the password is a ``SecretStr``, may come from an environment
variable (``password_env``), and ``safe_url`` drops any password written in the URL.
Certificate verification is on; turning it off takes ``tls_insecure = true``, said
explicitly, and is logged as a warning at every start.

Nothing here imports paho: ``apply`` configures any client with paho's method names.
"""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from .errors import ConfigError

_PORTS = {"mqtt": 1883, "mqtts": 8883}


def parse_mqtt_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` or ``mqtts://host:port`` -> (host, port).

    >>> parse_mqtt_url("mqtt://127.0.0.1:1884")
    ('127.0.0.1', 1884)
    >>> parse_mqtt_url("mqtts://user:secret@broker.example")
    ('broker.example', 8883)
    """
    parts = urlsplit(url)
    if parts.scheme not in _PORTS or not parts.hostname:
        raise ConfigError(f"MQTT URL {url!r} must look like mqtt://host[:port] or "
                          "mqtts://host[:port] (TLS)")
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"MQTT URL {url!r}: {exc}") from exc
    return parts.hostname, port or _PORTS[parts.scheme]


def safe_url(url: str) -> str:
    """The URL without a password, for logs.

    >>> safe_url("mqtts://ops:hunter2@broker:8883")
    'mqtts://ops@broker:8883'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return f"{parts.scheme}://{parts.username}@{host}{parts.path}"


class MqttConnection(BaseModel):
    """Where the broker is, how this client introduces itself and proves who it is."""

    model_config = ConfigDict(extra="forbid")

    url: str = "mqtt://127.0.0.1:1883"
    client_id: str | None = None
    keepalive_s: int = Field(default=30, ge=5)
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = Field(
        default=None, description="name of an environment variable holding the password")
    ca_file: str | None = Field(default=None, description="CA bundle that signs the broker's "
                                "certificate (default: the system's trusted CAs)")
    cert_file: str | None = Field(default=None, description="client certificate (mutual TLS)")
    key_file: str | None = Field(default=None, description="client certificate's private key")
    tls_insecure: bool = Field(default=False, description="accept any broker certificate; "
                               "for tests only, never in production")

    @field_validator("url")
    @classmethod
    def _valid_url(cls, url: str) -> str:
        parse_mqtt_url(url)
        return url

    @model_validator(mode="after")
    def _consistent(self) -> MqttConnection:
        parts = urlsplit(self.url)
        if parts.username and self.username and unquote(parts.username) != self.username:
            raise ValueError("the URL and mqtt.username name different users: give one")
        if self.password is not None and self.password_env:
            raise ValueError("give mqtt.password or mqtt.password_env, not both")
        if self.password_env and self.password_env not in os.environ:
            raise ValueError(f"mqtt.password_env names {self.password_env!r}, which is not "
                             "set in the environment")
        tls_options = [k for k in ("ca_file", "cert_file", "key_file") if getattr(self, k)]
        if not self.tls and (tls_options or self.tls_insecure):
            raise ValueError(f"{', '.join(tls_options) or 'tls_insecure'} needs an mqtts:// "
                             f"URL (got {safe_url(self.url)})")
        if self.key_file and not self.cert_file:
            raise ValueError("mqtt.key_file needs mqtt.cert_file (the client certificate)")
        for key in tls_options:
            if not Path(getattr(self, key)).is_file():
                raise ValueError(f"mqtt.{key} {getattr(self, key)!r} is not a readable file")
        return self

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def safe_url(self) -> str:
        return safe_url(self.url)

    def endpoint(self) -> tuple[str, int]:
        """(host, port) of the broker."""
        return parse_mqtt_url(self.url)

    def credentials(self) -> tuple[str, str | None] | None:
        """(username, password) from the URL, the fields or the environment; None if none."""
        parts = urlsplit(self.url)
        user = self.username or (unquote(parts.username) if parts.username else None)
        if self.password is not None:
            password: str | None = self.password.get_secret_value()
        elif self.password_env:
            password = os.environ.get(self.password_env)
        else:
            password = unquote(parts.password) if parts.password is not None else None
        if user is None:
            if password is not None:
                raise ConfigError("an MQTT password was given without a username")
            return None
        return user, password

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context for an ``mqtts://`` URL, verifying the broker unless told not to."""
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        if self.tls_insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def apply(self, client: Any) -> None:
        """Set credentials and TLS on a paho ``Client`` (by method name: no paho import)."""
        creds = self.credentials()
        if creds is not None:
            client.username_pw_set(*creds)
        ctx = self.tls_context()
        if ctx is not None:
            client.tls_set_context(ctx)
            if self.tls_insecure:
                client.tls_insecure_set(True)

    def diagnose(self, timeout_s: float = 5.0) -> str:
        """Why the broker cannot be reached, found by connecting (and handshaking) directly.

        For the log line of a failed connection: paho only says that it failed.
        """
        host, port = self.endpoint()
        where = f"MQTT broker {self.safe_url}"
        try:
            sock = socket.create_connection((host, port), timeout=timeout_s)
        except OSError as exc:
            return f"{where} is not reachable: {exc.strerror or exc}"
        with sock:
            ctx = self.tls_context()
            if ctx is None:
                return f"{where} accepts TCP connections; the MQTT session failed"
            try:
                with ctx.wrap_socket(sock, server_hostname=host):
                    pass
            except ssl.SSLCertVerificationError as exc:
                return (f"{where}: the broker's certificate is not trusted "
                        f"({exc.verify_message}); check mqtt.ca_file")
            except (ssl.SSLError, OSError) as exc:
                return f"{where}: TLS handshake failed ({exc}); is the port a TLS listener?"
        return f"{where} accepts TLS connections; the MQTT session failed"


def refusal_hint(reason: str) -> str:
    """A CONNACK refusal turned into what to do about it.

    >>> refusal_hint("Bad user name or password")
    'Bad user name or password: check mqtt.username and mqtt.password (or password_env)'
    """
    low = reason.lower()
    if "password" in low or "not authorized" in low or "not authorised" in low:
        return f"{reason}: check mqtt.username and mqtt.password (or password_env)"
    if "identifier" in low:
        return f"{reason}: check mqtt.client_id"
    return reason


class ConnectionReport:
    """Says, in the client's log, why it is not connected: at once, then every ``every_s``.

    Hook it to paho's callbacks: ``failed()`` from ``on_connect_fail`` (no TCP or TLS
    session), ``refused(reason)`` for a CONNACK refusal, ``connected()`` on success.
    ``last_error`` holds the latest reason (None while connected), for health checks.
    """

    def __init__(self, conn: MqttConnection, log: Any, who: str, every_s: float = 60.0):
        self.conn = conn
        self.log = log
        self.who = who
        self.every_s = every_s
        self.last_error: str | None = None
        self.failures = 0
        self.connects = 0
        self._last_logged = -float("inf")

    def started(self) -> None:
        if self.conn.tls_insecure:
            self.log.warning("%s: mqtt.tls_insecure is set, the broker's certificate is NOT "
                             "verified", self.who)

    def _report(self, reason: str) -> None:
        import time

        self.failures += 1
        changed = reason != self.last_error
        self.last_error = reason
        now = time.monotonic()
        if changed or now - self._last_logged >= self.every_s:
            self._last_logged = now
            self.log.error("%s cannot connect (attempt %d): %s", self.who, self.failures,
                           reason)

    def failed(self) -> None:
        self._report(self.conn.diagnose())

    def refused(self, reason: str) -> None:
        self._report(f"MQTT broker {self.conn.safe_url} refused the connection: "
                     f"{refusal_hint(reason)}")

    def connected(self) -> None:
        after = f" after {self.failures} failed attempts" if self.failures else ""
        self.log.info("%s connected to MQTT broker %s%s", self.who, self.conn.safe_url, after)
        self.last_error = None
        self.failures = 0
        self.connects += 1
