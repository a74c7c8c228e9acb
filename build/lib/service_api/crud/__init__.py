"""Queries and rules per entity; routes stay thin."""
