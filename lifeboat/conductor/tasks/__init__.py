"""Conductor tasks: one long operation per class."""
