"""Conversions between numpy arrays and (optional) torch tensors; torch is imported only when asked for."""

from __future__ import annotations

from typing import Any

import numpy as np


def is_tensor(value: Any) -> bool:
    """True for a torch tensor (checked without importing torch)."""
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def to_numpy(value: Any, dtype: Any = np.float64) -> np.ndarray:
    """A numpy array from an array, a torch tensor (any device) or nested lists (None becomes NaN)."""
    if is_tensor(value):
        value = value.detach().to("cpu").double().numpy()
    return np.asarray(value, dtype=dtype)


def to_torch(array: Any, device: Any = None, dtype: Any = None) -> Any:
    """A torch tensor on ``device`` (default CPU) with ``dtype`` (default float32) from a numpy array."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("torch is not installed; install it to get tensors out") from exc
    return torch.as_tensor(np.asarray(array), dtype=dtype or torch.float32, device=device)
