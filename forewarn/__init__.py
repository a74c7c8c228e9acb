"""Forewarn: predictive maintenance from Modbus sensors to predictive work orders."""

__version__ = "0.1.0"
