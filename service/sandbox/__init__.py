"""Running untrusted programs: the jail (how a worker is isolated), the pool (workers fed from one queue)
and the harness (what runs inside). Knows nothing of scorers."""
