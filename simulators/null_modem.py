"""A virtual null-modem cable: two pseudo-terminals whose traffic is copied across.

Serial programs open a pty's slave end like any ``/dev/tty*``; with two ptys
bridged master to master, a Modbus RTU server on one end and the agent on the
other talk as over a real RS-485 line, without socat or hardware. The bridge
runs on the asyncio loop that opened it.

>>> import asyncio, os
>>> async def roundtrip():
...     async with NullModem() as cable:
...         a = os.open(cable.ends[0], os.O_RDWR | os.O_NOCTTY)
...         b = os.open(cable.ends[1], os.O_RDWR | os.O_NOCTTY)
...         os.write(a, b"\\x01\\x03")
...         await asyncio.sleep(0.05)
...         got = os.read(b, 16)
...         os.close(a); os.close(b)
...         return got
>>> asyncio.run(roundtrip())
b'\\x01\\x03'
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from pathlib import Path


class NullModem:
    """Async context manager; ``ends`` are the two device paths (optionally symlinked).

    With ``char_s`` (seconds per character: bits per character / baud rate) the cable
    delivers bytes no faster than a real line at that speed, one direction at a time
    (RS-485 is half duplex), each burst (a frame) after the 3.5 characters of silence
    Modbus RTU puts between frames; without it, as fast as the ptys go.
    """

    def __init__(self, links: tuple[str | None, str | None] = (None, None),
                 char_s: float = 0.0):
        self._links = links
        self._char_s = char_s
        self._busy_until = 0.0
        self._masters: list[int] = []
        self._slaves: list[int] = []
        self.ends: tuple[str, str] = ("", "")
        self._made: list[Path] = []

    async def __aenter__(self) -> NullModem:
        loop = asyncio.get_running_loop()
        names = []
        for link in self._links:
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no line editing: bytes pass as they are
            os.set_blocking(master, False)
            self._masters.append(master)
            self._slaves.append(slave)  # kept open so the master never sees a hang-up
            name = os.ttyname(slave)
            if link:
                path = Path(link)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.unlink(missing_ok=True)
                path.symlink_to(name)
                self._made.append(path)
                name = str(path)
            names.append(name)
        self.ends = (names[0], names[1])
        a, b = self._masters
        loop.add_reader(a, self._copy, a, b)
        loop.add_reader(b, self._copy, b, a)
        return self

    def _copy(self, src: int, dst: int) -> None:
        try:
            data = os.read(src, 4096)
        except (BlockingIOError, OSError):
            return
        if not self._char_s:
            self._write(dst, data)
            return
        loop = asyncio.get_running_loop()
        # a frame follows 3.5 characters of silence (Modbus RTU), then takes its bytes' time
        done = max(loop.time(), self._busy_until + 3.5 * self._char_s) + (
            len(data) * self._char_s)
        self._busy_until = done
        loop.call_at(done, self._write, dst, data)

    @staticmethod
    def _write(dst: int, data: bytes) -> None:
        with contextlib.suppress(OSError):
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(dst, view):]
                except BlockingIOError:
                    continue

    async def __aexit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for fd in self._masters:
            loop.remove_reader(fd)
        for fd in self._masters + self._slaves:
            with contextlib.suppress(OSError):
                os.close(fd)
        for path in self._made:
            path.unlink(missing_ok=True)
        self._masters.clear()
        self._slaves.clear()
