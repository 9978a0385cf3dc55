"""Protocol-buffer wire decoding: just enough for tf.train.Example and the accessibility forest.

Hand-written on purpose (no generated classes, no TensorFlow): a message is a sequence of
(field number, wire type, value); varints are ints, length-delimited fields are bytes.

    >>> list(iter_fields(b"\\x08\\x96\\x01"))
    [(1, 0, 150)]
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from molmo_agent.training.errors import DataError

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise DataError("truncated protobuf varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DataError("protobuf varint longer than 10 bytes")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire == LENGTH:
            size, pos = read_varint(buf, pos)
            if pos + size > end:
                raise DataError("truncated protobuf length-delimited field")
            value, pos = bytes(buf[pos : pos + size]), pos + size
        elif wire == FIXED64:
            value, pos = bytes(buf[pos : pos + 8]), pos + 8
        elif wire == FIXED32:
            value, pos = bytes(buf[pos : pos + 4]), pos + 4
        else:
            raise DataError(f"unsupported protobuf wire type {wire}")
        if pos > end:
            raise DataError("truncated protobuf field")
        yield number, wire, value


def signed64(value: int) -> int:
    """Two's-complement int64 from a varint (negative int64 values are 10-byte varints)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def packed_varints(buf: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(buf):
        value, pos = read_varint(buf, pos)
        out.append(signed64(value))
    return out


def packed_floats(buf: bytes) -> list[float]:
    if len(buf) % 4:
        raise DataError("packed float field with a length not a multiple of 4")
    return list(struct.unpack(f"<{len(buf) // 4}f", buf))
