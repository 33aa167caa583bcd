"""Every Redis key prefix of the service, in one place."""

CACHE_PREFIX = "vpo:cache:"
RATE_PREFIX = "vpo:rate:"
