"""A closed-loop HTTP/1.1 load generator: N keep-alive connections, one request in flight each.

Plain asyncio streams rather than http.client or a library: parsing a response costs a few
microseconds here, so one process drives a few thousand requests a second on one core, and the
benchmark needs nothing beyond the standard library. Its own CPU time is measured and reported,
because on a small machine it competes with the server for the same cores.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


class HttpError(Exception):
    """The server answered something this client does not understand, or hung up."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One client connection; reconnects when the server closes it (gunicorn's sync workers do).

    With `reopen_every` > 0 it also closes itself after that many requests, as browsers and
    proxies let connections go, so that the next one is accepted by whichever server process
    is free then; 0 keeps it for the whole run.
    """

    def __init__(self, host: str, port: int, reopen_every: int = 0) -> None:
        self.host, self.port = host, port
        self.reopen_every = reopen_every
        self.served = 0  # requests answered on the socket now open
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b""):
        reused = self.writer is not None
        try:
            return await self._exchange(method, path, headers, body)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if not reused:
                raise
            # A kept-alive connection may have been closed by the server between requests.
            return await self._exchange(method, path, headers, body)

    async def _exchange(self, method, path, headers, body) -> Response:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.served = 0
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        response = _parse_head(head)
        length = response.headers.get("content-length")
        if length is None:
            raise HttpError("response without Content-Length")
        response.body = await self.reader.readexactly(int(length))
        self.served += 1
        if response.headers.get("connection", "").lower() == "close" or (
            self.reopen_every and self.served >= self.reopen_every
        ):
            self.close()
        return response

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _parse_head(head: bytes) -> Response:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise HttpError(f"bad status line {status_line!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if sep:
            # Set-Cookie may repeat; the benchmark needs only the last one.
            headers[name.strip().lower()] = value.strip()
    return Response(int(parts[1]), headers, b"")


# A visitor sends one request on its connection and says whether the answer was the expected one.
Visit = Callable[[Connection], Awaitable[bool]]


@dataclass
class Result:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    # The generator's CPU time over the whole run (warm-up included), in cores.
    cpu_share: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def _visitor(connection: Connection, visit: Visit, start: float, end: float, result: Result):
    clock = time.perf_counter
    while (began := clock()) < end:
        try:
            ok = await visit(connection)
        except (OSError, HttpError, asyncio.IncompleteReadError):
            connection.close()
            ok = False
        finished = clock()
        # Only requests that both started and ended inside the timed window count.
        if began >= start and finished <= end:
            if ok:
                result.latencies.append(finished - began)
            else:
                result.errors += 1


async def run_load(
    connections: list[Connection], visits: list[Visit], warmup: float, duration: float
) -> Result:
    """Every connection sends requests back to back for warmup + duration seconds."""
    start = time.perf_counter() + warmup
    end = start + duration
    result = Result(seconds=duration)
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(
        *(_visitor(c, v, start, end, result) for c, v in zip(connections, visits, strict=True))
    )
    result.cpu_share = (time.process_time() - cpu) / (time.perf_counter() - wall)
    for connection in connections:
        connection.close()
    return result
