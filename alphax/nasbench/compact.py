"""The project's compact NASBench-101 file (``*.nb101``), written by ``alphax nasbench convert``.

Layout: the 8-byte magic ``AXNB101\\n``, a little-endian ``uint64`` header length, a UTF-8 JSON header,
then the :class:`~alphax.nasbench.table.Table` arrays, raw little-endian, each at an offset aligned to
64 bytes. The header lists each array's dtype, shape, offset and CRC-32C. Loading maps the file into
memory (no copy) and checks the CRCs, so the full 423,624-cell data set loads in a fraction of a second.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import struct
from pathlib import Path

import crc32c
import numpy as np

from alphax.errors import DataError
from alphax.nasbench.table import METRICS, POINTS, Table, atomic_write
from alphax.spec import MAX_VERTICES

__all__ = ["MAGIC", "VERSION", "write_compact", "read_compact", "read_note"]

MAGIC = b"AXNB101\n"
VERSION = 1
_ALIGN = 64
_ARRAYS = {  # name -> dtype on disk
    "hashes": "S32", "num_vertices": "i1", "matrices": "i1", "labels": "i1", "params": "<i8", "epochs": "<i8",
    "repeats": "i1", "metrics": "<f8",
}


def _pad(n: int) -> int:
    return -n % _ALIGN


def write_compact(path: str | os.PathLike, table: Table, *, overwrite: bool = False, note: str | None = None) -> None:
    """Write ``table`` as a compact file (temp file, then rename; an existing file needs ``overwrite``).

    ``note`` is stored in the header (e.g. to label a speed fixture with generated metrics).
    """
    arrays = {name: np.ascontiguousarray(getattr(table, name), dtype=dt) for name, dt in _ARRAYS.items()}
    entries, offset = {}, 0
    for name, a in arrays.items():
        entries[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset, "nbytes": a.nbytes,
                         "crc32c": crc32c.crc32c(a.data)}
        offset += a.nbytes + _pad(a.nbytes)
    header = {"format": "alphax-nasbench101-compact", "version": VERSION, "cells": len(table),
              "epochs": table.epochs.tolist(), "repeats": int(table.metrics.shape[2]),
              "points": list(POINTS), "metrics": list(METRICS), "note": note, "arrays": entries}
    head = json.dumps(header).encode("utf-8")
    prefix = MAGIC + struct.pack("<Q", len(head)) + head
    prefix += b"\0" * _pad(len(prefix))

    def chunks():
        yield prefix
        for a in arrays.values():
            yield a.data
            yield b"\0" * _pad(a.nbytes)

    atomic_write(Path(path), chunks(), overwrite=overwrite)


_AGAIN = "convert the source again with 'alphax nasbench convert'"


def _header(path: Path, f) -> tuple[dict, int]:
    start = f.read(16)
    if start[:len(MAGIC)] != MAGIC:
        raise DataError(f"{path} is not a compact NASBench-101 file (no {MAGIC!r} magic)")
    if len(start) < 16:
        raise DataError(f"{path}: truncated compact file (it ends inside the 16-byte preamble)")
    (length,) = struct.unpack_from("<Q", start, 8)
    raw = f.read(length) if length < (1 << 24) else b""
    if length < (1 << 24) and len(raw) < length:
        raise DataError(f"{path}: truncated compact file (it ends inside its {length}-byte header); {_AGAIN}")
    try:
        header = json.loads(raw.decode("utf-8"))
        if header["version"] != VERSION:
            raise DataError(f"{path}: compact file version {header['version']!r}, this AlphaX reads version "
                            f"{VERSION}; convert the source again with 'alphax nasbench convert'")
        entries = header["arrays"]
        for name, dt in _ARRAYS.items():
            e = entries[name]
            if np.dtype(e["dtype"]) != np.dtype(dt):
                raise ValueError(f"array {name} has dtype {e['dtype']}, expected {dt}")
            if not isinstance(e["shape"], list) or not all(type(s) is int for s in e["shape"]):
                raise ValueError(f"array {name} has shape {e['shape']!r}, not a list of integers")
            e["offset"], e["nbytes"], e["crc32c"] = int(e["offset"]), int(e["nbytes"]), int(e["crc32c"])
            if min(e["shape"] + [e["offset"], e["nbytes"]]) < 0:
                raise ValueError(f"array {name} has a negative shape, offset or size")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError) as exc:
        raise DataError(f"{path}: unreadable compact-file header ({exc}); {_AGAIN}") from None
    base = 16 + length + _pad(16 + length)
    return header, base


def read_note(path: str | os.PathLike) -> str | None:
    """The ``note`` a compact file was written with (e.g. a speed fixture's "GENERATED metrics"); None
    when it has none or its header cannot be read."""
    try:
        with open(path, "rb") as f:
            note = _header(Path(path), f)[0].get("note")
    except (OSError, DataError):
        return None
    return note if isinstance(note, str) and note else None


def read_compact(path: str | os.PathLike, *, verify: bool = True) -> Table:
    """Map a compact file into memory as a read-only :class:`Table` (``verify``: check each array's CRC)."""
    path = Path(path)
    with open(path, "rb") as f:
        header, base = _header(path, f)
        size = os.fstat(f.fileno()).st_size
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    arrays = {}
    for name, dt in _ARRAYS.items():
        e = header["arrays"][name]
        shape = tuple(e["shape"])
        start, nbytes = base + e["offset"], e["nbytes"]
        if nbytes != math.prod(shape) * np.dtype(dt).itemsize:         # Python ints: no overflow
            raise DataError(f"{path}: array {name} of shape {shape} cannot have {nbytes} bytes (corrupt header); {_AGAIN}")
        if start + nbytes > size:
            raise DataError(f"{path}: truncated compact file: array {name} at byte offset {start} needs "
                            f"{nbytes} bytes, the file ends at {size}; {_AGAIN}")
        view = memoryview(buf)[start:start + nbytes]
        if verify and crc32c.crc32c(view) != e["crc32c"]:
            raise DataError(f"{path}: CRC error in array {name} at byte offset {start} (corrupt file); {_AGAIN}")
        arrays[name] = np.frombuffer(view, dtype=dt).reshape(shape)
    _check_shapes(path, arrays)
    return Table(**arrays)


def _check_shapes(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Every array's shape must be the one :class:`Table` documents: a header edited by hand (the CRCs
    cover the arrays, not the header) would otherwise give wrong answers or crash a query."""
    n, ne = len(arrays["hashes"]), len(arrays["epochs"])
    repeats = arrays["metrics"].shape[2] if arrays["metrics"].ndim == 5 else -1
    expected = {"hashes": (n,), "num_vertices": (n,), "matrices": (n, MAX_VERTICES, MAX_VERTICES),
                "labels": (n, MAX_VERTICES), "params": (n,), "epochs": (ne,), "repeats": (n, ne),
                "metrics": (n, ne, repeats, len(POINTS), len(METRICS))}
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise DataError(f"{path}: array {name} has shape {list(arrays[name].shape)}, expected {list(shape)} "
                            f"(corrupt header); convert the source again with 'alphax nasbench convert'")
