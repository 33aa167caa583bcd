"""Every Redis key prefix of the service, in one place."""

CACHE_PREFIX = "vpo:cache:"
RATE_PREFIX = "vpo:rate:"
JUDGE_PREFIX = "vpo:judge:"  # requests / tokens per minute to each judge endpoint
JOB_QUEUE = "vpo:jobs"  # arq's queue (a sorted set); arq keeps its own arq:job:*, arq:result:* keys
JOB_PROGRESS_PREFIX = "vpo:job:progress:"
DASHBOARD_LIST = "vpo:dashboard:groups"  # brief lines of the last scored groups, newest first
DASHBOARD_ENTRY_PREFIX = "vpo:dashboard:group:"  # one scored group for the dashboard (expires after a day)
