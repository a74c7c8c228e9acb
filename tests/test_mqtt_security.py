"""Secure MQTT on both sides: a real Mosquitto with TLS, client certificates and passwords.

Certificates are made for each test by openssl (``tests/servers.make_certificates``).
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from contracts.errors import ConfigError
from contracts.mqtt import MqttConnection
from contracts.wire import telemetry_topic
from edge_agent.outputs.mqtt import MqttPublisher
from ingest.dead_letters import DeadLetters
from ingest.pipeline import Ingester
from ingest.settings import IngestSettings
from ingest.stores import open_store
from tests.ingest.test_ingest import drive, make_batch
from tests.servers import Mosquitto, make_certificates

SECRET = "s3cr3t-Pa55"


@pytest.fixture
def tls_broker(tmp_path):
    broker = Mosquitto(tmp_path / "broker", tls_dir=tmp_path / "certs",
                       users={"agent": SECRET, "ingest": SECRET}, client_certs=True)
    broker.start()
    yield broker
    broker.stop()


def _conn(broker, user: str, **over) -> dict:
    ca, _ = broker.certs["ca"]
    cert, key = broker.certs["client"]
    return {"url": broker.url, "username": user, "password_env": "FW_TEST_MQTT_PASSWORD",
            "ca_file": str(ca), "cert_file": str(cert), "key_file": str(key), **over}


def _ingester(broker, tmp_path, **over) -> Ingester:
    s = IngestSettings.model_validate({
        "mqtt": _conn(broker, "ingest", **over),
        "store": {"kind": "embedded", "path": str(tmp_path / "store.sqlite")},
        "dead_letter_path": str(tmp_path / "dl.sqlite"), "state_dir": str(tmp_path / "st"),
        "risk": {"enabled": False}, "api": {"url": None}})
    return Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path))


def test_agent_and_ingester_talk_over_mutual_tls_with_passwords_kept_out_of_logs(
        tls_broker, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("FW_TEST_MQTT_PASSWORD", SECRET)
    caplog.set_level(logging.DEBUG)
    ing = _ingester(tls_broker, tmp_path)
    stop = threading.Event()
    t = threading.Thread(target=ing.run, args=(stop,))
    t.start()
    pub = MqttPublisher(MqttConnection.model_validate(_conn(tls_broker, "agent")), "agent-gw-1")
    try:
        assert ing.wait_connected(10), ing.report.last_error
        pub.start()
        assert pub.wait_connected(10), pub.report.last_error
        for seq in range(3):
            pub.publish_now(telemetry_topic("site", "gw-1"), make_batch(seq).to_bytes(),
                            wait_s=5)
        deadline = time.monotonic() + 10
        while ing.counters.samples < 9 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pub.stop()
        stop.set()
        t.join(10)
    assert ing.counters.samples == 9 and ing.counters.dead_letters == 0
    assert SECRET not in caplog.text
    assert "mqtts://127.0.0.1" in caplog.text  # the log says where it connected


def test_a_broker_certificate_from_another_ca_is_refused_with_a_clear_error(
        tls_broker, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("FW_TEST_MQTT_PASSWORD", SECRET)
    other_ca, _ = make_certificates(tmp_path / "other", names=("other-ca",))["other-ca"]
    ing = _ingester(tls_broker, tmp_path, ca_file=str(other_ca))
    with caplog.at_level(logging.ERROR):
        drive(ing, until=lambda i: i.report.last_error is not None, timeout=10, connects=False)
    assert not ing.wait_connected(0)
    assert "certificate is not trusted" in ing.report.last_error
    assert "mqtt.ca_file" in caplog.text


def test_a_wrong_password_is_refused_with_a_clear_error(tls_broker, tmp_path, monkeypatch):
    monkeypatch.setenv("FW_TEST_MQTT_PASSWORD", "wrong")
    ing = _ingester(tls_broker, tmp_path)
    drive(ing, until=lambda i: i.report.last_error is not None, timeout=10, connects=False)
    assert not ing.wait_connected(0)
    assert "refused the connection" in ing.report.last_error
    assert "check mqtt.username and mqtt.password" in ing.report.last_error
    assert "wrong" not in ing.report.last_error


def test_the_agent_logs_why_the_broker_is_unreachable(tmp_path, caplog):
    from forewarn.runtime import free_port

    conn = MqttConnection(url=f"mqtt://127.0.0.1:{free_port()}")
    pub = MqttPublisher(conn, "agent-x")
    with caplog.at_level(logging.ERROR):
        pub.start()
        deadline = time.monotonic() + 10
        while pub.report.last_error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        pub.stop()
    assert "is not reachable" in pub.report.last_error
    assert "agent agent-x cannot connect" in caplog.text


@pytest.mark.parametrize(("over", "message"), [
    ({"url": "mqtt://h", "tls_insecure": True}, "needs an mqtts:// URL"),
    ({"url": "mqtt://h", "ca_file": "/etc/hostname"}, "needs an mqtts:// URL"),
    ({"url": "mqtts://h", "ca_file": "/nonexistent/ca.pem"}, "is not a readable file"),
    ({"url": "mqtts://h", "password_env": "FW_SURELY_UNSET_VAR"}, "not set in the environment"),
    ({"url": "mqtts://a:b@h", "username": "c"}, "different users"),
    ({"url": "mqtts://h", "password": "x", "password_env": "HOME"}, "not both"),
    ({"url": "mqtts://h", "key_file": "/etc/hostname"}, "needs mqtt.cert_file"),
    ({"url": "http://h"}, "must look like mqtt://"),
])
def test_bad_mqtt_security_settings_are_refused_when_loaded(over, message):
    with pytest.raises((ValueError, ConfigError), match=message):
        MqttConnection.model_validate(over)


def test_secrets_from_the_url_fields_and_environment(monkeypatch):
    monkeypatch.setenv("FW_PW", "from-env")
    assert MqttConnection(url="mqtts://u:p%40ss@h").credentials() == ("u", "p@ss")
    assert MqttConnection(url="mqtts://h", username="u",
                          password_env="FW_PW").credentials() == ("u", "from-env")
    c = MqttConnection(url="mqtts://u:hidden@h")
    assert "hidden" not in c.safe_url and "hidden" not in repr(
        MqttConnection(url="mqtts://h", username="u", password="hidden"))
