"""The models' batchers, in the serving process or in one shared model process.

Each model of the server config gets a ``DynamicBatcher`` around its forward. With one service process the
batchers live in it. With ``serve --workers N`` and ``shared_models`` on, one **model process** loads every
model once and runs the batchers for all the workers, which reach it over a Unix socket (``RemoteBatcher``):
one CUDA context per GPU instead of one per worker, batches gathered across workers, and the HTTP work spread
over the worker processes. The supervisor starts that process before the workers and starts it again if it
dies; a request that finds it gone is a 503 with Retry-After (the client retries), never a wrong value.

The workers tokenize (each holds the models' tokenizers, not their weights) and send token ids, so the model
process spends its time on forwards; the submits of one turn of a worker's event loop go as one request.

Frames, both ways: two big-endian uint32 (header length, body length), a JSON header, a body of raw bytes.
A request's header is ``{"id", "model", "keys", "lengths"}``: its body holds, for each of ``keys``
(``input_ids``, and ``token_type_ids`` for pair models), every row's ids as int32, one row after another,
``lengths`` giving each row's length (``{"id", "op": "hello"}`` asks for the model names once they are
loaded). An answer's header is ``{"id", "ok", "error"?, "dtype", "shape", "forwards", "items", "sizes"}``
(the model's counters) with the results as one array in the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import logging.config
import os
import signal
import struct
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.errors import Unavailable
from ..core.turns import TurnBatcher
from ..scoring.offload import run_math
from .batcher import DynamicBatcher, ForwardCounts

logger = logging.getLogger("vpo_rewards.models")
FRAME = struct.Struct("!II")
MAX_FRAME = 1 << 30
RETRY_AFTER_S = 2.0
# A worker tokenizes this many characters on its event loop (a few hundred microseconds); more go to a thread,
# whose hop costs about a hundred (the tokenizer's Python side holds the GIL either way)
INLINE_CHARACTERS = 16384


def _item_length(item: Any) -> int:
    """Characters of a model's item (a text, or a (prompt, answer) pair): the worker's inline-tokenizing
    budget."""
    return len(item) if isinstance(item, str) else len(item[0]) + len(item[1])


def _classes(kind: str) -> tuple[Any, Any]:
    """(model class, its tokenizer side's class) of a model kind."""
    from .judges import JudgeInputs, LocalJudge
    from .loading import EmbeddingInputs, EmbeddingModel, RewardInputs, RewardModel

    return {"embedding": (EmbeddingModel, EmbeddingInputs), "reward_model": (RewardModel, RewardInputs),
            "causal_lm": (LocalJudge, JudgeInputs)}[kind]  # fmt: skip


def load_model(spec: Any) -> Any:
    """The model of ``spec`` (blocking: call it in a thread): ``.inputs.prepare`` tokenizes, ``.forward`` runs."""
    return _classes(spec.kind)[0](spec)


def load_inputs(spec: Any) -> Any:
    """The tokenizer side of the model of ``spec`` alone (a worker's, with shared models)."""
    return _classes(spec.kind)[1](spec)


def load_batcher(spec: Any) -> DynamicBatcher[Any]:
    """Loads the model (blocking: call it in a thread) and wraps it in a dynamic batcher of raw items (texts,
    or (prompt, answer) pairs), tokenized together on the forward's thread."""
    model = load_model(spec)

    def run(items: list[Any]) -> Sequence[Any]:
        return model.forward(model.inputs.prepare(items))  # type: ignore[no-any-return]

    # no sort key: the model sorts each batch by token length itself (``run_batches``)
    return DynamicBatcher(run, max_batch_size=spec.max_batch_size, max_wait_ms=spec.max_wait_ms, counts=model.counts)


def _rows_batcher(spec: Any) -> DynamicBatcher[Any]:
    """The model process's batcher of a model: its items are token rows, tokenized by the workers."""
    from .loading import join_rows

    model = load_model(spec)

    def run(rows: list[dict[str, np.ndarray]]) -> Sequence[Any]:
        return model.forward(join_rows(rows))  # type: ignore[no-any-return]

    return DynamicBatcher(run, max_batch_size=spec.max_batch_size, max_wait_ms=spec.max_wait_ms, counts=model.counts)


async def open_batcher(name: str, spec: Any, host: str | None) -> Any:
    """The model's batcher: loaded here, or a client of the shared model process at ``host``."""
    if host is None:
        return await asyncio.to_thread(load_batcher, spec)
    inputs = await asyncio.to_thread(load_inputs, spec)
    return RemoteBatcher(await HostClient.shared(host), name, inputs)


# ------------------------------------------------------------------------------------------------ frames
async def read_frame(reader: asyncio.StreamReader) -> tuple[dict[str, Any], bytes]:
    header_length, body_length = FRAME.unpack(await reader.readexactly(FRAME.size))
    if header_length + body_length > MAX_FRAME:
        raise ValueError(f"a frame of {header_length + body_length} bytes")
    header = json.loads(await reader.readexactly(header_length))
    return header, await reader.readexactly(body_length)


def frame(header: dict[str, Any], body: bytes = b"") -> bytes:
    encoded = json.dumps(header, separators=(",", ":")).encode()
    return FRAME.pack(len(encoded), len(body)) + encoded + body


TOKEN_KEYS = ("input_ids", "token_type_ids")  # what a worker sends of a tokenizer's output


def pack_rows(encoded: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """``tokenize``'s output as a request's header fields and body (see the module's docstring)."""
    keys = [key for key in TOKEN_KEYS if key in encoded]
    lengths = [len(ids) for ids in encoded["input_ids"]]
    body = b"".join(np.concatenate([np.asarray(ids, dtype=np.int32) for ids in encoded[key]]).tobytes()
                    for key in keys)  # fmt: skip
    return {"keys": keys, "lengths": lengths}, body


def unpack_rows(header: dict[str, Any], body: bytes) -> list[dict[str, np.ndarray]]:
    """The token rows of a request: one dict of id arrays per row."""
    keys, lengths = list(header["keys"]), [int(n) for n in header["lengths"]]
    if "input_ids" not in keys or not set(keys) <= set(TOKEN_KEYS) or not lengths or min(lengths) < 0:
        raise ValueError("a request needs rows of input_ids")
    total = sum(lengths)
    flat = np.frombuffer(body, dtype=np.int32)
    if flat.size != total * len(keys):
        raise ValueError(f"a body of {flat.size} ids for {total * len(keys)}")
    columns = {key: flat[k * total : (k + 1) * total] for k, key in enumerate(keys)}
    ends = list(itertools.accumulate(lengths))
    return [
        {key: column[end - n : end] for key, column in columns.items()} for n, end in zip(lengths, ends, strict=True)
    ]


def _as_array(results: Sequence[Any]) -> np.ndarray:
    if results and isinstance(results[0], np.ndarray):
        return np.stack(results).astype(np.float32, copy=False)
    return np.asarray(results, dtype=np.float64)


# ------------------------------------------------------------------------------------------ model process
def host_main(specs: dict[str, dict[str, Any]], path: str, log_config: dict[str, Any] | None) -> None:
    """The model process: loads every model, then serves their batchers on the Unix socket ``path``."""
    if log_config is not None:
        logging.config.dictConfig(log_config)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the supervisor stops us
    from .loading import ModelSpec

    loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    try:  # uvloop, as uvicorn runs the workers: this process's one event loop decodes and answers every frame
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_serve({name: ModelSpec(**spec) for name, spec in specs.items()}, path, os.getppid()))


async def _serve(specs: dict[str, Any], path: str, parent: int) -> None:
    started = time.monotonic()
    batchers = {name: await asyncio.to_thread(_rows_batcher, spec) for name, spec in specs.items()}
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks: set[asyncio.Task[None]] = set()

        async def answer(header: dict[str, Any], request: bytes) -> None:
            reply: dict[str, Any] = {"id": header.get("id"), "ok": True}
            body = b""
            try:
                if header.get("op") == "hello":
                    reply["models"] = sorted(batchers)
                else:
                    batcher = batchers[header["model"]]
                    array = _as_array(await batcher.submit(unpack_rows(header, request)))
                    forwards, items, sizes = batcher.counts.snapshot()
                    reply |= {"dtype": array.dtype.str, "shape": list(array.shape), "forwards": forwards,
                              "items": items, "sizes": sorted(sizes.items())}  # fmt: skip
                    body = array.tobytes()
            except Exception as exc:  # the model's failure goes back to the caller; the process serves on
                reply = {"id": header.get("id"), "ok": False, "error": f"{type(exc).__name__}: {exc}"}
            with contextlib.suppress(ConnectionError):  # the worker went away: nobody waits for this
                writer.write(frame(reply, body))
                await writer.drain()

        try:
            while True:
                header, request = await read_frame(reader)
                task = asyncio.create_task(answer(header, request))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            writer.close()

    if os.path.exists(path):
        os.unlink(path)
    server = await asyncio.start_unix_server(connection, path)
    os.chmod(path, 0o600)
    logger.info("model process %d serving %s on %s (loaded in %.1f s)", os.getpid(), ", ".join(sorted(batchers)),
                path, time.monotonic() - started)  # fmt: skip
    async with server:
        while not stop.is_set() and os.getppid() == parent:  # a supervisor killed outright takes us along
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    for batcher in batchers.values():
        await batcher.close()


# ----------------------------------------------------------------------------------------------- workers
def _lost() -> Unavailable:
    return Unavailable("the model process stopped; retry shortly", retry_after=RETRY_AFTER_S)


class _Connection:
    """One connection to the model process and the requests waiting on it, by id."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.pending: dict[int, asyncio.Future[tuple[dict[str, Any], bytes]]] = {}
        self.reading = asyncio.create_task(self._read(reader))

    @property
    def open(self) -> bool:
        return not self.reading.done() and not self.writer.is_closing()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                header, body = await read_frame(reader)
                future = self.pending.pop(int(header.get("id", -1)), None)
                if future is not None and not future.done():
                    future.set_result((header, body))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            self.writer.close()
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(_lost())
            self.pending.clear()

    async def call(self, request_id: int, header: dict[str, Any], body: bytes = b"") -> tuple[dict[str, Any], bytes]:
        future: asyncio.Future[tuple[dict[str, Any], bytes]] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        try:
            self.writer.write(frame({**header, "id": request_id}, body))
            await self.writer.drain()
            return await future
        except ConnectionError:
            raise _lost() from None
        finally:
            self.pending.pop(request_id, None)


class HostClient:
    """A worker's client of the model process, shared by its batchers: one connection at a time (opened
    again after a loss), requests multiplexed on it by id."""

    _shared: dict[str, HostClient] = {}

    def __init__(self, path: str) -> None:
        self.path = path
        self.ids = itertools.count()
        self.connection: _Connection | None = None
        self.lock = asyncio.Lock()
        self.loop = asyncio.get_running_loop()

    @classmethod
    async def shared(cls, path: str, wait_s: float = 900.0) -> HostClient:
        """This process's client of the model process at ``path``, once that process has loaded its models
        (waiting up to ``wait_s``: a worker starts serving only then)."""
        client = cls._shared.get(path)
        if client is None or client.loop is not asyncio.get_running_loop():  # one per event loop (and process)
            client = cls._shared[path] = cls(path)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                await client.call({"op": "hello"})
                return client
            except Unavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    @classmethod
    async def reachable(cls, path: str, timeout_s: float = 2.0) -> bool:
        """Whether the model process at ``path`` answers now (one try, no waiting for it)."""
        try:
            await asyncio.wait_for(cls.shared(path, wait_s=0), timeout_s)
            return True
        except (Unavailable, TimeoutError):
            return False

    async def _connection(self) -> _Connection:
        async with self.lock:
            if self.connection is None or not self.connection.open:
                try:
                    self.connection = _Connection(*await asyncio.open_unix_connection(self.path))
                except OSError as exc:
                    message = f"the model process is not up ({exc.strerror}); retry shortly"
                    raise Unavailable(message, retry_after=RETRY_AFTER_S) from None
            return self.connection

    async def call(self, header: dict[str, Any], body: bytes = b"") -> tuple[dict[str, Any], bytes]:
        return await (await self._connection()).call(next(self.ids), header, body)


class RemoteBatcher:
    """A model's batcher in the model process, with the ``DynamicBatcher`` interface the scorers use.

    The submits of one turn of the event loop go out as one request (a busy worker has many at once),
    tokenized here in one call of the tokenizer (``inputs``): the model process then decodes, batches and
    answers one frame of token ids where it would have had one of texts per request."""

    def __init__(self, client: HostClient, model: str, inputs: Any) -> None:
        self.client = client
        self.model = model
        self.inputs = inputs
        self.counts = ForwardCounts()  # the model process's (every worker's items), as of its last answer here
        self.turns: TurnBatcher[list[Any], list[Any]] = TurnBatcher(self._request)

    @property
    def requests(self) -> int:
        """Requests sent to the model process (fewer than submits under load)."""
        return self.turns.runs

    async def submit(self, items: Sequence[Any]) -> list[Any]:
        return await self.turns.submit(list(items)) if items else []

    async def _request(self, calls: list[list[Any]]) -> list[list[Any]]:
        items = [item for call in calls for item in call]
        characters = sum(map(_item_length, items))
        encoded = await run_math(lambda: self.inputs.prepare(items), characters, INLINE_CHARACTERS)
        fields, request = pack_rows(encoded)
        header, body = await self.client.call({"model": self.model, **fields}, request)
        if not header["ok"]:
            raise RuntimeError(header["error"])
        self.counts = ForwardCounts(Counter({size: count for size, count in header["sizes"]}))
        array = np.frombuffer(body, dtype=np.dtype(header["dtype"])).reshape(header["shape"])
        results = list(array) if array.ndim > 1 else array.tolist()
        ends = list(itertools.accumulate(len(call) for call in calls))
        return [results[end - len(call) : end] for call, end in zip(calls, ends, strict=True)]

    async def close(self) -> None:
        await self.turns.close()
