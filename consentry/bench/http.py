"""A minimal HTTP/1.1 keep-alive client for the multi-step flow driver.

httpx or aiohttp would spend more CPU per request than the server under test on the same two cores;
this client does only what the flows need (one connection, Content-Length or chunked bodies).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlencode


class HttpError(Exception):
    """The connection broke or the response could not be parsed."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    cookies: list[str] = field(default_factory=list)
    body: bytes = b""

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Connection:
    """One persistent connection to ``host:port``; reopened when the server closes it."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.host_header = f"{host}:{port}".encode()

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    async def get(self, path: str, cookie: str | None = None) -> Reply:
        return await self.request(b"GET", path, cookie=cookie)

    async def post_form(self, path: str, form: dict[str, str], cookie: str | None = None) -> Reply:
        return await self.request(b"POST", path, urlencode(form).encode(), cookie=cookie)

    async def request(self, method: bytes, path: str, body: bytes | None = None, cookie: str | None = None) -> Reply:
        if self.writer is None:
            await self._open()
        assert self.reader is not None and self.writer is not None
        head = [method + b" " + path.encode() + b" HTTP/1.1", b"Host: " + self.host_header]
        if cookie:
            head.append(b"Cookie: " + cookie.encode())
        if body is not None:
            head += [b"Content-Type: application/x-www-form-urlencoded", b"Content-Length: " + str(len(body)).encode()]
        self.writer.write(b"\r\n".join(head) + b"\r\n\r\n" + (body or b""))
        try:
            return await asyncio.wait_for(self._read(), self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
            await self.close()
            raise HttpError(f"{type(exc).__name__}: {exc}") from None

    async def _read(self) -> Reply:
        assert self.reader is not None
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookies.append(value)
            headers[name] = value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            length = int(headers.get("content-length", "0"))
            body = await self.reader.readexactly(length) if length else b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Reply(status, headers, cookies, body)

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
