"""MQTT output: publishes spooled messages at QoS 1 and reports which were acknowledged.

paho-mqtt runs its network loop in its own thread and reconnects by itself; the
agent only publishes while connected, bounds the messages in flight (paho has
65,535 message ids) and checks every return code, so a refused publish stays in
the spool instead of being lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

from contracts.mqtt import ConnectionReport, MqttConnection

from .spool import Spooled

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """The broker is not reachable or refused a publish."""


class MqttPublisher:
    def __init__(self, conn: MqttConnection, client_id: str, max_inflight: int = 100,
                 will: tuple[str, bytes] | None = None,
                 on_connect: Callable[[MqttPublisher], None] | None = None):
        self.conn = conn
        self.host, self.port = conn.endpoint()
        self.keepalive_s = conn.keepalive_s
        self._connected = threading.Event()
        self._on_connect_hook = on_connect
        self.report = ConnectionReport(conn, log, f"agent {client_id}")
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                        clean_session=True, protocol=mqtt.MQTTv311)
        conn.apply(c)  # credentials, TLS
        c.max_inflight_messages_set(max_inflight)
        c.reconnect_delay_set(min_delay=1, max_delay=10)
        if will:
            c.will_set(will[0], will[1], qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_connect_fail = lambda client, userdata: self.report.failed()
        c.on_disconnect = self._on_disconnect
        self._client = c
        self.connects = 0

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.report.refused(str(reason_code))
            return
        self.connects += 1
        self._connected.set()
        self.report.connected()
        if self._on_connect_hook:
            self._on_connect_hook(self)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._connected.is_set():
            log.warning("disconnected from MQTT broker %s (%s)", self.conn.safe_url,
                        reason_code)
        self._connected.clear()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self.report.started()
        self._client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
        self._client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish_now(self, topic: str, payload: bytes, retain: bool = False,
                    wait_s: float = 0.0) -> None:
        """Publish a message outside the spool (gateway state); optionally wait for its ack."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise PublishError(f"publish to {topic} refused: {mqtt.error_string(info.rc)}")
        if wait_s > 0:
            try:
                info.wait_for_publish(wait_s)
            except (RuntimeError, ValueError) as exc:
                raise PublishError(f"publish to {topic} not acknowledged: {exc}") from exc

    def publish_batch(self, messages: list[Spooled], timeout: float = 10.0) -> list[Spooled]:
        """Publish at QoS 1 and wait; return the messages the broker acknowledged, in order."""
        if not self.connected:
            return []
        sent = []
        for m in messages:
            info = self._client.publish(m.topic, m.payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                log.debug("publish seq %d refused: %s", m.seq, mqtt.error_string(info.rc))
                break
            sent.append((m, info))
        deadline = time.monotonic() + timeout
        acked = []
        for m, info in sent:
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                break
            if not info.is_published():
                break
            acked.append(m)
        return acked

    def stop(self, timeout: float = 2.0) -> None:
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()
