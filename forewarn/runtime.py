"""Process plumbing shared by every long-running command: logging and clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import threading


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        stream=sys.stderr, level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("pymodbus", "amqtt", "transitions", "uvicorn.access", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING if not verbose else logging.INFO)


def stop_on_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event,
                    also: threading.Event | None = None) -> None:
    """SIGTERM and Ctrl-C set ``stop`` (and ``also``); a second Ctrl-C is not special."""

    def _stop() -> None:
        logging.getLogger("forewarn").info("shutting down (signal received)")
        stop.set()
        if also is not None:
            also.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _stop)


def stop_event_on_signals(stop: threading.Event) -> None:
    """For thread-based commands: SIGTERM and Ctrl-C set ``stop``."""

    def _handler(signum, frame) -> None:
        logging.getLogger("forewarn").info("shutting down (%s)", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)


def free_port_range(n: int, host: str = "127.0.0.1") -> int:
    """The first of ``n`` consecutive free ports (simulated fleets serve one per device)."""
    import random

    for _ in range(50):
        base = random.randint(20000, 60000 - n)
        ok = True
        for p in range(base, base + n):
            with socket.socket() as s:
                try:
                    s.bind((host, p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError(f"no {n} consecutive free ports found")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
