"""``vpo-rewards replay LOG``: re-score the groups of a replay log with today's scorers and report what changed.

LOG is a JSONL replay file (``-`` for stdin; several may be given, e.g. ``replay.jsonl.1 replay.jsonl``) or a
Redis URL (``redis://host:6379/0``), read from the stream ``--stream``. The groups are scored by a service
built in this process from the current code and settings (``--config``), or by a running service
(``--url``, e.g. a staging deployment of the change). Exit status: 0 nothing changed, 1 something changed or
failed to score, 2 the log or the arguments could not be used.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from tqdm import tqdm

from ..batches import open_client, score_in_batches
from .diff import ReplayReport

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
XRANGE_COUNT = 1000


@dataclass(frozen=True)
class Entry:
    where: str  # "replay.jsonl:12" or "redis:<stream>:<entry id>"
    request_id: str | None
    request: dict[str, Any]
    response: dict[str, Any]


def read_entries(sources: list[str], stream: str, report: ReplayReport) -> Iterator[Entry]:
    """The usable entries of every source in order; unusable ones go to ``report.unreadable``."""
    for source in sources:
        if source.startswith(REDIS_SCHEMES):
            yield from _checked(_stream_records(source, stream), report)
        else:
            yield from _checked(_file_records(source), report)


def _file_records(source: str) -> Iterator[tuple[str, str]]:
    handle = sys.stdin if source == "-" else Path(source).open(encoding="utf-8")
    with handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield f"{source}:{number}", line


def _stream_records(url: str, stream: str) -> Iterator[tuple[str, str]]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10, decode_responses=True)
    try:
        start = "-"
        while True:
            chunk = cast(
                list[tuple[str, dict[str, str]]], client.xrange(stream, min=start, max="+", count=XRANGE_COUNT)
            )
            for entry_id, fields in chunk:
                yield f"redis:{stream}:{entry_id}", fields.get("entry", "")
            if len(chunk) < XRANGE_COUNT:
                return
            start = "(" + chunk[-1][0]
    finally:
        client.close()


def _checked(records: Iterator[tuple[str, str]], report: ReplayReport) -> Iterator[Entry]:
    for where, line in records:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            report.unreadable.append({"where": where, "reason": f"not JSON: {exc.msg}"})
            continue
        if not (isinstance(entry, dict) and isinstance(entry.get("request"), dict)
                and isinstance(entry.get("response"), dict)):  # fmt: skip
            report.unreadable.append({"where": where, "reason": "not a replay entry (no request and response)"})
            continue
        request_id = entry.get("request_id")
        yield Entry(where, request_id if isinstance(request_id, str) else None, entry["request"], entry["response"])


async def replay(
    sources: list[str],
    *,
    stream: str,
    url: str | None,
    token: str | None,
    config: Path | None,
    atol: float,
    limit: int | None,
    batch_size: int,
    concurrency: int,
    progress: bool,
) -> ReplayReport:
    """Re-score the entries of ``sources`` chunk by chunk (a log of any size is never all in memory)."""
    report = ReplayReport(atol=atol)
    entries = read_entries(sources, stream, report)
    if limit is not None:
        entries = itertools.islice(entries, limit)
    chunk_size = batch_size * concurrency * 4
    async with open_client(url, token, config) as client:
        with tqdm(unit="group", disable=not progress, file=sys.stderr) as bar:
            while chunk := list(itertools.islice(entries, chunk_size)):
                position = 0
                async for results in score_in_batches(client, [e.request for e in chunk], batch_size, concurrency):
                    for result in results:
                        entry = chunk[position]
                        position += 1
                        if "error" in result:
                            report.fail(entry.where, entry.request_id, result["error"])
                        else:
                            report.add(entry.where, entry.request_id, entry.response, result)
                    bar.update(len(results))
    return report
