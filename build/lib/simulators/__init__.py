"""Simulated plant: equipment physics, faults and failures, served over Modbus."""
