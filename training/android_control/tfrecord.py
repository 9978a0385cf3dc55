"""TFRecord files (optionally GZIP-compressed) and tf.train.Example, without TensorFlow.

Record framing: uint64 length, uint32 masked CRC-32C of the length bytes, the data, uint32 masked
CRC-32C of the data (little-endian). A record whose checksum does not match is corrupt: with
``on_corrupt="skip"`` it is counted and skipped (the length checksum must still hold to find the
next record; a bad length ends the file), with ``"error"`` it raises :class:`RecordError`.

    >>> for example in iter_examples("android_control-00000-of-00020", skips=SkipCounter("ac")):
    ...     example["episode_id"]   # -> [1234]
"""

from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from molmo_agent.training.android_control.wire import (
    FIXED32,
    LENGTH,
    iter_fields,
    packed_floats,
    packed_varints,
    signed64,
)
from molmo_agent.training.data.example import SkipCounter
from molmo_agent.training.errors import DataError, RecordError

GZIP_MAGIC = b"\x1f\x8b"
BAD_CRC = "TFRecord record with a bad checksum"


def masked_crc32c(data: bytes) -> int:
    import crc32c

    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _open(path: Path, compression: str):
    with open(path, "rb") as probe:
        head = probe.read(2)
    if compression == "gzip" or (compression == "auto" and head == GZIP_MAGIC):
        return gzip.open(path, "rb")
    return open(path, "rb")


def iter_records(path: str | os.PathLike, compression: str = "auto", on_corrupt: str = "skip",
                 skips: SkipCounter | None = None) -> Iterator[bytes]:
    """The data of each record of one file."""
    path = Path(path)
    skips = skips or SkipCounter(path.name)
    number = 0
    try:
        with _open(path, compression) as handle:
            while True:
                header = handle.read(12)
                if not header:
                    return
                where = f"{path} record {number}"
                if len(header) < 12:
                    raise RecordError(f"{where}: truncated record header")
                length_bytes, length_crc = header[:8], struct.unpack("<I", header[8:])[0]
                if masked_crc32c(length_bytes) != length_crc:
                    # Without a trustworthy length the next record cannot be found: stop here.
                    raise RecordError(f"{where}: bad length checksum (corrupt or not a TFRecord file)")
                (length,) = struct.unpack("<Q", length_bytes)
                data = handle.read(length)
                footer = handle.read(4)
                if len(data) < length or len(footer) < 4:
                    raise RecordError(f"{where}: truncated record data")
                number += 1
                if masked_crc32c(data) != struct.unpack("<I", footer)[0]:
                    if on_corrupt == "error":
                        raise RecordError(f"{where}: data checksum mismatch")
                    skips.skip(BAD_CRC, where)
                    continue
                yield data
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise RecordError(f"{path}: cannot read: {error}") from error


def parse_example(data: bytes) -> dict[str, list]:
    """tf.train.Example -> {feature name: list of bytes | int | float}."""
    features: dict[str, list] = {}
    for number, _, features_msg in iter_fields(data):
        if number != 1:
            continue
        for entry_number, _, entry in iter_fields(features_msg):  # map<string, Feature> entries
            if entry_number != 1:
                continue
            key, value = None, []
            for field, _, payload in iter_fields(entry):
                if field == 1:
                    key = payload.decode("utf-8")
                elif field == 2:
                    value = _parse_feature(payload)
            if key is None:
                raise DataError("tf.train.Example feature without a name")
            features[key] = value
    return features


def _parse_feature(feature: bytes) -> list:
    for kind, _, inner in iter_fields(feature):
        values: list = []
        for field, wire, payload in iter_fields(inner):
            if field != 1:
                continue
            if kind == 1:  # BytesList
                values.append(payload)
            elif kind == 2:  # FloatList, packed or not
                values.extend(packed_floats(payload) if wire == LENGTH else
                              packed_floats(payload) if wire == FIXED32 else [])
            elif kind == 3:  # Int64List, packed or not
                values.extend(packed_varints(payload) if wire == LENGTH else [signed64(payload)])
        return values
    return []


def iter_examples(path: str | os.PathLike, on_corrupt: str = "skip", skips: SkipCounter | None = None) -> Iterator[dict[str, list]]:
    for data in iter_records(path, on_corrupt=on_corrupt, skips=skips):
        yield parse_example(data)
