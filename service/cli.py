"""The ``vpo-rewards`` command: ``serve`` the API, or ``score`` a JSONL file of groups (and more: ``--help``).

``score`` talks to a running service (``--url``) or runs the service in this process (``--in-process``);
it needs only the client's dependencies in the first case.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from . import __version__
from .batches import open_client, score_in_batches
from .constants import CONFIG_FILE_ENV, SERVER_EXTRA_HINT
from .core.logs import configure_logging, logging_config


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        code: int = args.run(args)
    except ModuleNotFoundError as exc:
        print(f"vpo-rewards: {exc}; {SERVER_EXTRA_HINT}", file=sys.stderr)
        return 2
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vpo-rewards", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"vpo-rewards {__version__}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="bind address (default 127.0.0.1; others need VPO_TOKENS)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")
    serve.add_argument("--config", type=Path, help="TOML or YAML settings file (sets VPO_CONFIG_FILE)")
    serve.add_argument("--log-level", help="uvicorn log level (default info)")
    serve.set_defaults(run=_serve)

    score = commands.add_parser("score", help="score a JSONL file of groups (one /v1/score body per line)")
    score.add_argument("input", type=Path, help="JSONL input, or - for stdin")
    score.add_argument("-o", "--output", type=Path, help="JSONL results, one line per input line (default stdout)")
    where = score.add_mutually_exclusive_group()
    where.add_argument("--url", default=os.environ.get("VPO_URL", "http://127.0.0.1:8000"), help="service URL")
    where.add_argument("--in-process", action="store_true", help="run the service inside this command")
    score.add_argument("--token", default=os.environ.get("VPO_TOKEN"), help="bearer token (or VPO_TOKEN)")
    score.add_argument("--config", type=Path, help="settings file for --in-process")
    score.add_argument("--batch-size", type=int, default=32, help="groups per request (default 32)")
    score.add_argument("--concurrency", type=int, default=2, help="requests in flight (default 2)")
    score.add_argument("--no-progress", action="store_true", help="no progress bar")
    score.set_defaults(run=_score)

    worker = commands.add_parser("worker", help="run a job worker (needs VPO_REDIS_URL)")
    worker.add_argument("--burst", action="store_true", help="run the queued jobs, then exit")
    worker.add_argument("--config", type=Path, help="TOML or YAML settings file (sets VPO_CONFIG_FILE)")
    worker.set_defaults(run=_worker)

    replay = commands.add_parser(
        "replay", help="re-score a replay log with today's scorers and report what changed (exit 1 if anything did)"
    )
    replay.add_argument("log", nargs="+", help="replay JSONL file(s), - for stdin, or a redis:// URL (see --stream)")
    replay.add_argument("--stream", default="vpo:replay", help="Redis stream key (default vpo:replay)")
    replay.add_argument("--url", help="re-score with the service at this URL (default: built in this process)")
    replay.add_argument("--token", default=os.environ.get("VPO_TOKEN"), help="bearer token for --url (or VPO_TOKEN)")
    replay.add_argument("--config", type=Path, help="settings file of the in-process service")
    replay.add_argument("--atol", type=float, default=1e-6, help="values closer than this are the same (1e-6)")
    replay.add_argument("--limit", type=int, help="replay at most this many groups")
    replay.add_argument("--batch-size", type=int, default=32, help="groups per request (default 32)")
    replay.add_argument("--concurrency", type=int, default=2, help="requests in flight (default 2)")
    replay.add_argument("--json", action="store_true", help="print the report as JSON")
    replay.add_argument("--report", type=Path, help="also write the JSON report to this file")
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")
    replay.set_defaults(run=_replay)

    openapi = commands.add_parser("openapi", help="print the OpenAPI document")
    openapi.set_defaults(run=_openapi)

    headers = commands.add_parser(
        "precompile-headers", help="precompile the headers compiled languages' answers include (run as root)"
    )
    headers.add_argument("--directory", type=Path, default=None, help="where to (default: under /usr/local)")
    headers.set_defaults(run=_precompile_headers)
    return parser


def _worker(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from .core.config import Settings

    if args.config is not None:
        os.environ[CONFIG_FILE_ENV] = str(args.config.resolve())
    try:
        settings = Settings()
        if settings.redis_url is None:
            raise ValueError("the job worker needs Redis: set VPO_REDIS_URL")
    except (ValidationError, ValueError) as exc:
        print(f"vpo-rewards: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_run_worker(settings, args.burst))
    return 0


async def _run_worker(settings: Any, burst: bool) -> None:
    """Run until SIGTERM / SIGINT (or, in burst mode, until the queue is empty), then shut down cleanly. When
    Redis goes away the worker waits for it and goes on (with the scorers it has loaded), rather than exiting."""
    import logging
    import signal
    import time

    from .jobs.worker import build_worker, shutdown
    from .store.connections import REDIS_ERRORS

    logger = logging.getLogger("service.jobs")
    worker = build_worker(settings, burst=burst)  # inside the running loop: arq binds to it
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    current: list[asyncio.Future[None]] = []

    def stop() -> None:
        stopping.set()
        for task in current:
            task.cancel()

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop)
    delay = 0.5
    try:
        while not stopping.is_set():
            started = time.monotonic()
            current[:] = [asyncio.ensure_future(worker.main())]
            try:
                await current[0]
                return
            except asyncio.CancelledError:
                return
            except REDIS_ERRORS as exc:
                if burst:
                    raise
                delay = 0.5 if time.monotonic() - started > 60 else delay  # a new outage starts the backoff over
                logger.warning("Redis unreachable (%s); the worker goes on in %.1f s", exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
            delay = min(delay * 2, 10.0)
    finally:
        try:
            await worker.close()
        except REDIS_ERRORS:
            await shutdown(worker.ctx)  # Redis is down: close the scorers without arq


def _replay(args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    from .replay.runner import replay

    if args.batch_size < 1 or args.concurrency < 1 or args.atol < 0 or (args.limit is not None and args.limit < 1):
        print("vpo-rewards: --batch-size, --concurrency and --limit must be at least 1, --atol at least 0",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        report = asyncio.run(
            replay(args.log, stream=args.stream, url=args.url, token=args.token, config=args.config, atol=args.atol,
                   limit=args.limit, batch_size=args.batch_size, concurrency=args.concurrency,
                   progress=not args.no_progress)
        )  # fmt: skip
    except (OSError, ValueError, RedisError) as exc:
        print(f"vpo-rewards: cannot replay: {exc}", file=sys.stderr)
        return 2
    data = report.as_dict()
    if args.report is not None:
        args.report.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(data, indent=2) if args.json else report.text())
    return 0 if report.clean else 1


def _openapi(args: argparse.Namespace) -> int:
    from .core.config import Settings
    from .main import create_app

    print(json.dumps(create_app(Settings()).openapi(), indent=2, sort_keys=True))
    return 0


def _precompile_headers(args: argparse.Namespace) -> int:
    from .scorers.tests.headers import PrecompileFailed, precompile_headers
    from .scorers.tests.languages import HEADERS

    try:
        built = precompile_headers(args.directory or HEADERS)
    except (OSError, PrecompileFailed) as exc:
        print(f"vpo-rewards precompile-headers: {exc}", file=sys.stderr)
        return 1
    for path in built:
        print(path)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from . import serving
    from .core.config import Settings

    # Through the environment, so that every worker process builds the same settings.
    for name, value in (
        ("HOST", args.host),
        ("PORT", args.port),
        ("WORKERS", args.workers),
        ("LOG_LEVEL", args.log_level),
    ):
        if value is not None:
            os.environ[f"VPO_{name}"] = str(value)
    if args.config is not None:
        os.environ[CONFIG_FILE_ENV] = str(args.config.resolve())
    try:
        settings = Settings()
    except (ValidationError, ValueError) as exc:
        print(f"vpo-rewards: invalid settings: {exc}", file=sys.stderr)
        return 2
    options: dict[str, Any] = {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "log_level": settings.log_level,
        "log_config": logging_config(settings.log_level, settings.log_format),  # JSON lines with request ids
        "access_log": False,  # the service logs its own access lines (with the request id and the route)
    }
    if settings.workers > 1 and serving.supported():  # a listening socket per worker: connections spread evenly
        serving.run_workers(uvicorn.Config("service.main:create_app", **options), settings)
    else:
        uvicorn.run("service.main:create_app", **options)
    return 0


def _score(args: argparse.Namespace) -> int:
    if args.batch_size < 1 or args.concurrency < 1:
        print("vpo-rewards: --batch-size and --concurrency must be at least 1", file=sys.stderr)
        return 2
    try:
        groups = list(_read_groups(args.input))
    except ValueError as exc:
        print(f"vpo-rewards: {exc}", file=sys.stderr)
        return 2
    with _open_output(args.output) as out:
        failed = asyncio.run(_score_all(groups, args, out))
    if failed:
        print(f"vpo-rewards: {failed} of {len(groups)} groups failed (see their error lines)", file=sys.stderr)
    return 1 if failed else 0


def _read_groups(path: Path) -> Iterator[dict[str, Any]]:
    stream = sys.stdin if str(path) == "-" else path.open(encoding="utf-8")
    with stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                group = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc.msg}") from exc
            if not isinstance(group, dict):
                raise ValueError(f"{path}:{number}: each line must be a JSON object (a /v1/score body)")
            yield group


@contextlib.contextmanager
def _open_output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
    else:
        with path.open("w", encoding="utf-8") as handle:
            yield handle


async def _score_all(groups: list[dict[str, Any]], args: argparse.Namespace, out: TextIO) -> int:
    """Send the groups in batches, ``concurrency`` requests in flight, writing results in input order."""
    failed = 0
    url = None if args.in_process else args.url
    async with open_client(url, args.token, args.config) as client:
        with tqdm(total=len(groups), unit="group", disable=args.no_progress, file=sys.stderr) as bar:
            async for results in score_in_batches(client, groups, args.batch_size, args.concurrency):
                for result in results:
                    failed += "error" in result
                    out.write(json.dumps(result) + "\n")
                out.flush()
                bar.update(len(results))
    return failed


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
