"""The part of SPDY/3.1 framing that kubectl's port-forward speaks (no flow control, as in Go's spdystream).

kubectl 1.31+ tunnels SPDY through a WebSocket (subprotocol ``SPDY/3.1+portforward.k8s.io``); the frames are the
plain SPDY/3 ones, split across binary WebSocket messages at arbitrary points. Header blocks are zlib streams that
use the fixed SPDY/3 dictionary, one compression context per direction for the whole connection.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
RST_CANCEL = 5

# The SPDY/3 header dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1): length-prefixed names and values, then a
# run of plain strings. Its Adler-32 (3821447106) is what a header block's zlib stream names as its dictionary.
_DICTIONARY_NAMES = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges age "
    "allow authorization cache-control connection content-base content-encoding content-language content-length "
    "content-location content-md5 content-range content-type date etag expect expires from host if-match "
    "if-modified-since if-none-match if-range if-unmodified-since last-modified location max-forwards pragma "
    "proxy-authenticate proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade "
    "user-agent vary via warning www-authenticate method get status"
)
_DICTIONARY_MORE = ("200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive")
_DICTIONARY_TAIL = (
    "origin100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = (
    b"".join(struct.pack(">I", len(w)) + w.encode() for w in (*_DICTIONARY_NAMES.split(), *_DICTIONARY_MORE))
    + struct.pack(">I", len("origin"))
    + _DICTIONARY_TAIL.encode()
)


class SpdyError(Exception):
    """The peer sent something that is not SPDY/3."""


@dataclass
class Frame:
    """One parsed frame: a control frame (``type`` > 0) or a data frame (``type`` 0, ``stream_id`` set)."""

    type: int
    flags: int
    stream_id: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes = b""

    @property
    def fin(self) -> bool:
        """Whether the sender half-closed the stream with this frame."""
        return bool(self.flags & FLAG_FIN)


class Codec:
    """Parses the peer's byte stream into frames and encodes ours (keeps both zlib contexts)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, 15, 8, zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every frame now complete.

        Raises:
            SpdyError: A frame has the wrong version or a header block does not decompress.
        """
        self._buffer += data
        frames = []
        while len(self._buffer) >= 8:
            first, flags_length = struct.unpack(">II", self._buffer[:8])
            length = flags_length & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            payload = bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            flags = flags_length >> 24
            if first & 0x80000000:
                version, type_ = (first >> 16) & 0x7FFF, first & 0xFFFF
                if version != VERSION:
                    raise SpdyError(f"expected SPDY version {VERSION}, got {version}")
                frames.append(self._control(type_, flags, payload))
            else:
                frames.append(Frame(0, flags, stream_id=first & 0x7FFFFFFF, data=payload))
        return frames

    def _control(self, type_: int, flags: int, payload: bytes) -> Frame:
        if type_ in (SYN_STREAM, SYN_REPLY, HEADERS):
            stream_id = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
            block = payload[10:] if type_ == SYN_STREAM else payload[4:]
            return Frame(type_, flags, stream_id=stream_id, headers=self._headers(block))
        if type_ in (RST_STREAM, WINDOW_UPDATE):
            return Frame(type_, flags, stream_id=struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF, data=payload)
        return Frame(type_, flags, data=payload)

    def _headers(self, block: bytes) -> dict[str, str]:
        try:
            raw = self._inflate.decompress(block)
        except zlib.error as exc:
            raise SpdyError(f"a header block does not decompress: {exc}") from exc
        (count,), pos, headers = struct.unpack(">I", raw[:4]), 4, {}
        for _ in range(count):
            (size,) = struct.unpack(">I", raw[pos : pos + 4])
            name = raw[pos + 4 : pos + 4 + size].decode()
            pos += 4 + size
            (size,) = struct.unpack(">I", raw[pos : pos + 4])
            headers[name.lower()] = raw[pos + 4 : pos + 4 + size].decode().split("\x00")[0]
            pos += 4 + size
        return headers

    @staticmethod
    def _control_frame(type_: int, flags: int, payload: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | VERSION, type_, (flags << 24) | len(payload)) + payload

    def syn_reply(self, stream_id: int, headers: dict[str, str] | None = None) -> bytes:
        """Accept a stream the peer opened."""
        pairs = headers or {}
        block = struct.pack(">I", len(pairs)) + b"".join(
            struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode() for k, v in pairs.items()
        )
        compressed = self._deflate.compress(block) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        return self._control_frame(SYN_REPLY, 0, struct.pack(">I", stream_id) + compressed)

    @staticmethod
    def data(stream_id: int, data: bytes, *, fin: bool = False) -> bytes:
        """A data frame (at most 16 MiB - 1, the 24-bit length)."""
        return struct.pack(">II", stream_id & 0x7FFFFFFF, ((FLAG_FIN if fin else 0) << 24) | len(data)) + data

    @classmethod
    def rst_stream(cls, stream_id: int, status: int = RST_CANCEL) -> bytes:
        """Reset a stream."""
        return cls._control_frame(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    @classmethod
    def ping(cls, payload: bytes) -> bytes:
        """Answer a PING with the same id."""
        return cls._control_frame(PING, 0, payload)
