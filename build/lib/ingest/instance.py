"""Which ingester this process is on its host: the first free numbered slot of a state dir.

Several ingesters may run from one configuration on one host (to use more cores). Each
takes the lowest slot ``n`` whose lock file ``instance-<n>.lock`` in the state directory
no other live process holds, and keeps it until it exits; the lock goes with the
process, so a crashed ingester's slot is free again at once. The slot gives the default
MQTT client id ``forewarn-ingest-<host>-<dir>-<n>`` (``<dir>``: 6 hex digits of the state
directory's absolute path, so two configurations on one host differ too): distinct for
every running ingester (no two clients fighting over one id), and the same again after
a restart, so the broker's persistent session, with the messages it kept, is resumed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from contracts.ids import check_id

MAX_SLOTS = 64


class NoFreeSlot(RuntimeError):
    """Every slot of the state directory is held by a running ingester."""


@dataclass
class Instance:
    slot: int
    state_dir: Path
    _fd: int

    def client_id(self, host: str | None = None) -> str:
        host = (host or socket.gethostname()).split(".")[0]
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in host)[:32] or "host"
        folder = hashlib.sha256(str(self.state_dir.resolve()).encode()).hexdigest()[:6]
        return check_id(f"forewarn-ingest-{safe}-{folder}-{self.slot}")

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing drops the lock
            self._fd = -1


def claim_instance(state_dir: str | Path) -> Instance:
    """Lock the lowest free slot of ``state_dir`` for this process."""
    root = Path(state_dir)
    root.mkdir(parents=True, exist_ok=True)
    for slot in range(MAX_SLOTS):
        fd = os.open(root / f"instance-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return Instance(slot, root, fd)
    raise NoFreeSlot(f"all {MAX_SLOTS} ingester slots of {root} are held by running "
                     "ingesters: give this one another state_dir")
