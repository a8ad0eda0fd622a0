"""The official NASBench-101 files (``nasbench_full.tfrecord``, ``nasbench_only108.tfrecord``), no TensorFlow.

A TFRecord file is a sequence of records framed as: ``uint64`` length (little-endian), masked CRC-32C of
those 8 bytes, the data, masked CRC-32C of the data (the ``crc32c`` package computes CRC-32C). Each
NASBench-101 record is the JSON list ``[module_hash, epochs, raw_adjacency, raw_operations, raw_metrics]``:
the adjacency as V*V ``0``/``1`` characters (row-major), the ops comma-separated, and the metrics a base64
serialized ``nasbench.ModelMetrics`` protobuf. The message classes are built at run time (``protobuf``
library, no ``protoc``) from a descriptor that mirrors nasbench's ``lib/model_metrics.proto``. As in the
official ``api.py``, ``evaluation_data[1]`` is the halfway point and ``evaluation_data[2]`` the end of
training (``[0]``, the start of training, is unused).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Mapping, Sequence

import crc32c
import numpy as np

from alphax.errors import DataError
from alphax.nasbench.table import METRICS, Table, TableBuilder, atomic_write, check_metric

__all__ = ["masked_crc", "iter_records", "write_records", "model_metrics_class", "encode_record",
           "read_official", "write_official", "looks_like_tfrecord"]

_MASK_DELTA = 0xA282EAD8
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C of ``data``."""
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _read_exact(f: BinaryIO, n: int, path: Path, offset: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DataError(f"{path}: truncated TFRecord file: record at byte offset {offset} ends inside its "
                        f"{what} ({len(data)} of {n} bytes); download the file again")
    return data


def iter_records(path: str | os.PathLike) -> Iterator[tuple[int, bytes]]:
    """Yield ``(byte offset, data)`` for each record of a TFRecord file, checking both CRCs.

    Raises :class:`DataError` naming the file and the record's offset when the file is truncated or a
    CRC does not match.
    """
    path = Path(path)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        offset = 0
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise DataError(f"{path}: truncated TFRecord file: record at byte offset {offset} ends inside "
                                f"its length header ({len(header)} of 12 bytes); download the file again")
            if masked_crc(header[:8]) != _U32.unpack_from(header, 8)[0]:
                raise DataError(f"{path}: CRC error in the length of the record at byte offset {offset} "
                                "(corrupt file, or not a TFRecord file); download the file again")
            (length,) = _U64.unpack_from(header)
            if length > size - offset - 12:
                # a length beyond the file's end: truncated (or a corrupt length whose CRC happens to
                # match); said before reading, which would try to allocate it
                raise DataError(f"{path}: truncated TFRecord file: the record at byte offset {offset} claims "
                                f"{length} bytes of data, the file has {max(size - offset - 12, 0)} after its "
                                f"header; download the file again")
            data = _read_exact(f, length, path, offset, "data")
            (crc,) = _U32.unpack(_read_exact(f, 4, path, offset, "data CRC"))
            if masked_crc(data) != crc:
                raise DataError(f"{path}: CRC error in the data of the record at byte offset {offset} (corrupt file); download the file again")
            yield offset, data
            offset += 16 + length


def _frame(data: bytes) -> bytes:
    length = _U64.pack(len(data))
    return length + _U32.pack(masked_crc(length)) + data + _U32.pack(masked_crc(data))


def write_records(path: str | os.PathLike, records: Iterable[bytes], *, overwrite: bool = False) -> None:
    """Write a TFRecord file of ``records`` (temp file, then rename)."""
    atomic_write(Path(path), (_frame(r) for r in records), overwrite=overwrite)


def model_metrics_class() -> type:
    """The ``nasbench.ModelMetrics`` message class, built from a descriptor (mirrors model_metrics.proto)."""
    return _message_classes()["nasbench.ModelMetrics"]


@lru_cache(maxsize=1)
def _message_classes() -> dict[str, type]:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(name="alphax/nasbench/model_metrics.proto", package="nasbench",
                                             syntax="proto2")
    F = descriptor_pb2.FieldDescriptorProto
    opt = F.LABEL_OPTIONAL
    ev = fdp.message_type.add(name="EvaluationData")
    for number, (name, ftype) in enumerate([("current_epoch", F.TYPE_DOUBLE), ("training_time", F.TYPE_DOUBLE),
                                            ("train_accuracy", F.TYPE_DOUBLE),
                                            ("validation_accuracy", F.TYPE_DOUBLE),
                                            ("test_accuracy", F.TYPE_DOUBLE), ("checkpoint_path", F.TYPE_STRING)],
                                           start=1):
        ev.field.add(name=name, number=number, label=opt, type=ftype)
    mm = fdp.message_type.add(name="ModelMetrics")
    mm.field.add(name="evaluation_data", number=1, label=F.LABEL_REPEATED, type=F.TYPE_MESSAGE,
                 type_name=".nasbench.EvaluationData")
    mm.field.add(name="trainable_parameters", number=2, label=opt, type=F.TYPE_INT32)
    mm.field.add(name="total_time", number=3, label=opt, type=F.TYPE_DOUBLE)
    # every class of the file, kept (this function's cache holds the dict): protobuf < 4.25 crashes when a
    # parsed message hands out an EvaluationData whose class was never built or was collected
    return message_factory.GetMessages([fdp], pool=descriptor_pool.DescriptorPool())


def _point(ev) -> tuple[float | None, ...]:
    """The METRICS of one EvaluationData; a field not set in the message is None. NaN or infinity is
    refused (ValueError), as the JSON Lines reader refuses it, not read as a value not recorded."""
    point = tuple(getattr(ev, m) if ev.HasField(m) else None for m in METRICS)
    for m, x in zip(METRICS, point):
        check_metric(m, x, unset="not set")
    return point


def looks_like_tfrecord(head: bytes) -> bool:
    """True if ``head`` (the first bytes of a file) starts with a valid TFRecord length header."""
    return len(head) >= 12 and masked_crc(head[:8]) == _U32.unpack_from(head, 8)[0]


def read_official(path: str | os.PathLike) -> Table:
    """Read an official NASBench-101 ``.tfrecord`` file into a :class:`Table`."""
    path = Path(path)
    cls = model_metrics_class()
    builder = TableBuilder()
    from google.protobuf.message import DecodeError

    for offset, data in iter_records(path):
        try:
            module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = json.loads(data.decode("utf-8"))
            metrics = cls.FromString(base64.b64decode(raw_metrics, validate=True))
            if len(metrics.evaluation_data) < 3:
                raise ValueError(f"{len(metrics.evaluation_data)} evaluation points, the official API needs 3 "
                                 "(start, halfway, end of training)")
            if isinstance(epochs, bool) or not isinstance(epochs, int):    # 107.9 was read as 107, true as 1
                raise ValueError(f"epochs {epochs!r} is no whole number")
            params = metrics.trainable_parameters if metrics.HasField("trainable_parameters") else None
            idx = builder.add_cell(module_hash, raw_adjacency, raw_operations.split(","), params)
            builder.add_run(idx, epochs, _point(metrics.evaluation_data[1]), _point(metrics.evaluation_data[2]))
        except (ValueError, TypeError, AttributeError, DecodeError, binascii.Error, RecursionError,
                OverflowError) as exc:
            raise DataError(f"{path}: record at byte offset {offset} is not a NASBench-101 row "
                            f"[hash, epochs, adjacency, ops, metrics] ({exc})") from None
    try:
        return builder.build()
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None


def encode_record(module_hash: str, epochs: int, matrix: Sequence[Sequence[int]], ops: Sequence[str], *,
                  trainable_parameters: int | None, halfway: Mapping[str, float | None],
                  final: Mapping[str, float | None], total_time: float | None = None) -> bytes:
    """One official record (the JSON row, metrics as base64 ``ModelMetrics``); None fields are left unset.

    ``halfway``/``final`` map METRICS names to values; ``evaluation_data`` gets the start of training
    (epoch 0, zero time), the halfway point (``epochs / 2``) and the end (``epochs``), like nasbench.
    """
    msg = model_metrics_class()()
    if trainable_parameters is not None:
        msg.trainable_parameters = int(trainable_parameters)
    if total_time is not None:
        msg.total_time = float(total_time)
    msg.evaluation_data.add(current_epoch=0.0, training_time=0.0)
    for point, at in ((halfway, epochs / 2), (final, float(epochs))):
        ev = msg.evaluation_data.add(current_epoch=at)
        for m in METRICS:
            if point.get(m) is not None:
                setattr(ev, m, float(point[m]))
    adjacency = "".join(str(int(x)) for row in np.asarray(matrix).tolist() for x in row)
    row = [module_hash, int(epochs), adjacency, ",".join(ops), base64.b64encode(msg.SerializeToString()).decode()]
    return json.dumps(row).encode("utf-8")


def write_official(path: str | os.PathLike, cells: Iterable[tuple[str, Mapping, Mapping]], *,
                   overwrite: bool = False) -> int:
    """Write an official-format ``.tfrecord`` file; returns the number of records.

    ``cells`` yields ``(module_hash, fixed, computed)`` as :meth:`NASBench101.get_metrics_from_hash` returns
    them: ``fixed`` has ``module_adjacency``, ``module_operations``, ``trainable_parameters``; ``computed``
    maps epochs to a list of repeats, each with ``halfway_*``/``final_*`` metrics (missing or None: unset).
    Writing only the 108-epoch entries gives a ``nasbench_only108``-style file.
    """
    count = 0

    def records() -> Iterator[bytes]:
        nonlocal count
        for module_hash, fixed, computed in cells:
            for epochs, runs in computed.items():
                for run in runs:
                    count += 1
                    yield encode_record(module_hash, int(epochs), fixed["module_adjacency"],
                                        fixed["module_operations"],
                                        trainable_parameters=fixed.get("trainable_parameters"),
                                        halfway={m: run.get("halfway_" + m) for m in METRICS},
                                        final={m: run.get("final_" + m) for m in METRICS})

    write_records(path, records(), overwrite=overwrite)
    return count
