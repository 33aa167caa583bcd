"""Scorers: the interface (``base``), the registry and the built-in scorers."""
