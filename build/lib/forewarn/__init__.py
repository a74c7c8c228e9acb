"""Forewarn: predictive maintenance from Modbus sensors to preventive work orders."""

__version__ = "0.1.0"
