"""The agent's error types: what went wrong reading a device, precisely."""

from __future__ import annotations


class AgentError(Exception):
    """Base of the edge agent's errors."""


class DeviceError(AgentError):
    def __init__(self, asset: str, unit: int, address: int, detail: str):
        self.asset, self.unit, self.address, self.detail = asset, unit, address, detail
        super().__init__(f"{asset} (unit {unit}) @ {address}: {detail}")


class DeviceOffline(DeviceError):
    """No TCP connection to the device."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""


class DeviceException(DeviceError):
    """The device answered with a Modbus exception response (e.g. 2: illegal address)."""

    def __init__(self, asset: str, unit: int, address: int, code: int):
        self.code = code
        super().__init__(asset, unit, address, f"Modbus exception code {code}")


class DecodeError(DeviceError):
    """Registers were read but do not decode to a usable value."""


class DetectError(ValueError):
    """A CSV cannot be replayed through the detectors (``forewarn detect``)."""
