"""Private instances of the servers Forewarn talks to, for tests and benchmarks.

Mosquitto, VictoriaMetrics and PostgreSQL come from Debian's packages (``make test``
installs them); each instance listens on a free 127.0.0.1 port with its own data
directory, never the system service.
"""

from __future__ import annotations

import getpass
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from forewarn.runtime import free_port


class ServerMissing(RuntimeError):
    """A server binary is not installed."""


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
VICTORIA = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"


def make_certificates(folder: Path, names: tuple[str, ...] = ("ca", "server", "client")
                      ) -> dict[str, tuple[Path, Path]]:
    """A private CA and certificates it signs, by openssl: {name: (cert, key)}.

    The first name is the CA; ``server`` gets 127.0.0.1 and localhost as subject names.
    """
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    ca, *others = names
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={ca}",
        "-keyout", f"{ca}.key", "-out", f"{ca}.crt")
    for name in others:
        (folder / f"{name}.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n" if name == "server" else "")
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt")
    return {n: (folder / f"{n}.crt", folder / f"{n}.key") for n in names}


class Mosquitto:
    """A private Mosquitto; ``stop()``/``start()`` simulate a broker outage on the same port.

    ``tls_dir`` makes it a TLS listener with certificates made there (``certs``);
    ``users`` ({name: password}) turns anonymous access off; ``client_certs`` asks every
    client for a certificate signed by the same CA (mutual TLS).
    """

    def __init__(self, workdir: Path, tls_dir: Path | None = None,
                 users: dict[str, str] | None = None, client_certs: bool = False):
        if not Path(MOSQUITTO).exists():
            raise ServerMissing(f"{MOSQUITTO} not found: `make test` installs mosquitto")
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.certs = make_certificates(tls_dir) if tls_dir else {}
        auth = "allow_anonymous true\n"
        if users:
            pw = workdir / "passwords"
            pw.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
            subprocess.run([shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd",
                            "-U", str(pw)], check=True, capture_output=True)
            os.chmod(pw, 0o600)
            auth = f"allow_anonymous false\npassword_file {pw}\n"
        tls = ""
        if self.certs:
            tls = (f"cafile {self.certs['ca'][0]}\ncertfile {self.certs['server'][0]}\n"
                   f"keyfile {self.certs['server'][1]}\n")
            if client_certs:
                tls += "require_certificate true\n"
        # Persistence so a restart keeps persistent sessions' queued messages;
        # unlimited queues: the default (1000) silently drops for slow subscribers.
        self.conf.write_text(
            f"per_listener_settings false\nlistener {self.port} 127.0.0.1\n{tls}{auth}"
            f"user {getpass.getuser()}\n"
            f"persistence true\npersistence_location {workdir}/\nautosave_interval 1\n"
            "max_queued_messages 0\nmax_inflight_messages 0\n"
            f"log_dest file {workdir}/mosquitto.log\n")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.certs else 'mqtt'}://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Victoria:
    def __init__(self, workdir: Path, port: int | None = None):
        if not Path(VICTORIA).exists():
            raise ServerMissing(f"{VICTORIA} not found: `make test` installs victoria-metrics")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [VICTORIA, f"-httpListenAddr=127.0.0.1:{self.port}", f"-storageDataPath={workdir}",
             "-retentionPeriod=100y", "-search.latencyOffset=0s",
             "-search.disableCache"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def export(self, match: str, expect_values: int = 0, timeout: float = 15.0) -> list[dict]:
        """Every stored series matching ``match``; waits (bounded) until at least
        ``expect_values`` values are visible, since VictoriaMetrics indexes asynchronously."""
        q = urllib.parse.urlencode({"match[]": match})
        deadline = time.monotonic() + timeout
        while True:
            urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10).read()
            with urllib.request.urlopen(f"{self.url}/api/v1/export?{q}", timeout=10) as r:
                series = [json.loads(line) for line in r.read().decode().splitlines() if line]
            if sum(len(x["values"]) for x in series) >= expect_values or (
                    time.monotonic() > deadline):
                return series
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _pg_bin(name: str) -> str | None:
    """The newest installed PostgreSQL's ``name`` binary (Debian keeps them off PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return found[-1] if found else shutil.which(name)


class Postgres:
    """A private PostgreSQL cluster (trust auth, fsync off) on a free port.

    PostgreSQL refuses to run as root, so under root the cluster belongs to the
    ``postgres`` user the Debian package creates, in a directory of its own.
    """

    def __init__(self) -> None:
        initdb, server = _pg_bin("initdb"), _pg_bin("postgres")
        if not initdb or not server:
            raise ServerMissing("PostgreSQL not found: `make test` installs postgresql")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="forewarn-pg-"))
        user = None
        if os.geteuid() == 0:
            user = "postgres"
            entry = pwd.getpwnam(user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        data = self.dir / "data"
        subprocess.run([initdb, "-D", str(data), "-U", "forewarn", "--auth=trust", "-E", "UTF8",
                        "--no-sync"], check=True, user=user, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
        self._log = open(self.dir / "log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [server, "-D", str(data), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(self.dir), "-F", "-c", "full_page_writes=off"],
            user=user, stdout=subprocess.DEVNULL, stderr=self._log)
        wait_port(self.port)
        self.url = f"postgresql+psycopg://forewarn@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_api(folder: Path, port: int | None = None, **settings):
    """The service API on a migrated SQLite file in ``folder``, served by uvicorn in a
    thread, with any other ``settings`` (e.g. ``telemetry``); returns (thread, ApiClient
    with the ``ingest`` service token, admin password)."""
    from forewarn.demo import ApiThread
    from forewarn.runtime import free_port as _free_port
    from ingest.api_client import ApiClient
    from service_api.bootstrap import local_setup
    from service_api.settings import ServiceApiSettings

    folder.mkdir(parents=True, exist_ok=True)
    config = ServiceApiSettings(port=port or _free_port(),
                                database_url=f"sqlite:///{folder / 'api.sqlite'}",
                                attachments_dir=str(folder / "attachments"), **settings)
    password, token = local_setup(config.database_url, folder)
    thread = ApiThread(config)
    thread.start()
    return thread, ApiClient(f"http://127.0.0.1:{config.port}", token=token), password
