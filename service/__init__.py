"""vpo-rewards service: reward vectors, VPO set scores and advantages over HTTP.

Importing this package is cheap (no FastAPI); the app is built by ``service.main.create_app``.
"""

__version__ = "0.1.0"
