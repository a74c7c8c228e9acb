"""Streaming detectors, features and failure-risk models. Imports no other Forewarn package."""
