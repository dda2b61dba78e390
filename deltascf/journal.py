"""Append-only journal files: checksummed frames of bytes, written one at a time.

A study appends every finished record to its journal as one frame (:func:`append`), so a save costs the same
however many records are stored already.  A frame is ``MAGIC``, the payload length and its CRC-32, then the
payload; it is flushed to disk before ``append`` returns.  A process killed while writing leaves at most one
torn frame at the end, which :func:`read` drops (and everything after it), so a journal is never "broken".
"""
from __future__ import annotations

import os
import struct
import zlib

__all__ = ["MAGIC", "append", "read", "journal_path"]

MAGIC = b"DSCFJNL1"
_HEAD = struct.Struct("<8sQI")  # magic, payload length, crc32


def journal_path(study_path) -> str:
    """The journal beside a study file: ``.<name>.journal.tmp`` in the same directory."""
    directory, base = os.path.split(os.path.abspath(os.fspath(study_path)))
    return os.path.join(directory, f".{base}.journal.tmp")


def append(fd: int, payload: bytes) -> None:
    """Append one frame to the journal open as ``fd`` (O_APPEND) and flush it to disk."""
    frame = _HEAD.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload
    view = memoryview(frame)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def read(path) -> list:
    """The payloads of the complete frames of a journal, in order ([] when there is no journal)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return []
    out, pos = [], 0
    while pos + _HEAD.size <= len(data):
        magic, size, crc = _HEAD.unpack_from(data, pos)
        body = data[pos + _HEAD.size:pos + _HEAD.size + size]
        if magic != MAGIC or len(body) != size or zlib.crc32(body) != crc:
            break  # a torn last frame (the writer was killed): drop it
        out.append(bytes(body))
        pos += _HEAD.size + size
    return out
