"""TFRecord files: length-prefixed records with masked CRC32C checksums, optionally GZIP-compressed.

Framing of one record: uint64 length (little endian), uint32 masked crc32c of those 8 bytes, the data,
uint32 masked crc32c of the data. The mask is TensorFlow's: rotate right by 15 bits, add 0xa282ead8.
GZIP output uses mtime 0 and no file name so the same records give the same bytes.

    with TFRecordWriter("episodes.tfrecord.gz", gzip=True) as writer:
        writer.write(example_bytes)
    for data in read_tfrecord("episodes.tfrecord.gz"):
        ...
"""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Iterator
from pathlib import Path

import crc32c

from molmo_agent.sims.errors import RecordError

_MASK_DELTA = 0xA282EAD8


def masked_crc32c(data: bytes) -> int:
    crc = crc32c.crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def frame_record(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


class TFRecordWriter:
    """Write records to ``path`` (GZIP when ``gzip=True``). Use as a context manager."""

    def __init__(self, path: str | Path, gzip: bool = True):
        self._raw = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._out = _gzip_writer(self._raw) if gzip else self._raw

    def write(self, data: bytes) -> None:
        self._out.write(frame_record(data))

    def close(self) -> None:
        if self._out is not self._raw:
            self._out.close()
        self._raw.flush()
        self._raw.close()

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _gzip_writer(raw) -> gzip.GzipFile:
    return gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)


def read_tfrecord(path: str | Path, gzip_compressed: bool | None = None) -> Iterator[bytes]:
    """Yield the records of a TFRecord file, checking both checksums of each (GZIP auto-detected)."""
    raw = Path(path).read_bytes()
    if gzip_compressed is None:
        gzip_compressed = raw[:2] == b"\x1f\x8b"
    if gzip_compressed:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise RecordError(f"{path}: not a complete GZIP stream ({error})") from error
    stream = io.BytesIO(raw)
    index = 0
    while True:
        header = stream.read(8)
        if not header:
            return
        if len(header) < 8:
            raise RecordError(f"{path}: record {index} has a truncated length header")
        (length,) = struct.unpack("<Q", header)
        crc_bytes = stream.read(4)
        if len(crc_bytes) < 4 or struct.unpack("<I", crc_bytes)[0] != masked_crc32c(header):
            raise RecordError(f"{path}: record {index} length checksum mismatch")
        data = stream.read(length)
        crc_bytes = stream.read(4)
        if len(data) < length or len(crc_bytes) < 4:
            raise RecordError(f"{path}: record {index} is truncated")
        if struct.unpack("<I", crc_bytes)[0] != masked_crc32c(data):
            raise RecordError(f"{path}: record {index} data checksum mismatch")
        yield data
        index += 1
