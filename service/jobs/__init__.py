"""Asynchronous scoring jobs: the queue (API side) and the worker that runs them, on arq and Redis."""
