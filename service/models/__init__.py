"""Torch / transformers models behind the model-backed scorers: loading from the server config, and the
dynamic batcher that gathers concurrent requests into few large forwards."""
