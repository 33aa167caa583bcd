"""The replay log: every scored group and its result, appended to JSONL files or a Redis stream (off by
default), and ``vpo-rewards replay LOG``, which re-scores a log with today's scorers and reports what changed."""
