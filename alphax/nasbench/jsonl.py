"""The real-subset JSON Lines file (``nb101_real_subset.jsonl.gz``, gzipped or not).

One object per cell: ``hash``, ``matrix``, ``ops``, ``trainable_parameters`` and ``metrics``, a map from
budget (string) to the recorded repeat (an object) or repeats (a list of objects). A repeat's keys are
metric names (``validation_accuracy``: the end of training) or ``final_*``/``halfway_*`` names. A metric a
row does not hold stays missing (None in queries); nothing is filled in.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path
from typing import Mapping

from alphax.errors import DataError
from alphax.nasbench.table import METRICS, Table, TableBuilder, check_metric

__all__ = ["read_jsonl"]


_HALF_KEYS = tuple("halfway_" + m for m in METRICS)
_FINAL_KEYS = tuple(("final_" + m, m) for m in METRICS)
_KNOWN_KEYS = frozenset((*_HALF_KEYS, *(k for pair in _FINAL_KEYS for k in pair)))


def _points(run: Mapping) -> tuple[list, list]:
    """(halfway, final) values of one repeat; a plain metric name means the end of training. A value is
    a finite number or null: NaN or Infinity (which Python's JSON reader accepts) is refused, not read as
    a missing value."""
    unknown = sorted(set(run) - _KNOWN_KEYS, key=str)     # a typo (validaton_accuracy) lost the value unsaid
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}: a repeat's metrics are {', '.join(METRICS)}, each "
                         f"also with halfway_ or final_ before it")
    half, final = [run.get(k) for k in _HALF_KEYS], [run.get(k, run.get(m)) for k, m in _FINAL_KEYS]
    for key, x in zip((*_HALF_KEYS, *(k for k, _ in _FINAL_KEYS)), (*half, *final)):
        if isinstance(x, bool):
            raise ValueError(f"{key} is {x!r}: a metric is a number, or null (or left out) when not recorded")
        check_metric(key, x, unset="null (or left out)")
    return half, final


def read_jsonl(path: str | os.PathLike) -> Table:
    """Read a NASBench-101 JSON Lines file (``.jsonl`` or ``.jsonl.gz``) into a :class:`Table`."""
    path = Path(path)
    builder = TableBuilder()
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    line_no = 0
    try:
        with opener(path, "rt", encoding="utf-8-sig") as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    idx = builder.add_cell(row["hash"], row["matrix"], row["ops"], row.get("trainable_parameters"))
                    for epochs, runs in row["metrics"].items():
                        for run in runs if isinstance(runs, list) else [runs]:
                            builder.add_run(idx, int(epochs), *_points(run))
                except (ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError) as exc:
                    raise DataError(f"{path}: line {line_no} is not a NASBench-101 cell row "
                                    f"{{hash, matrix, ops, trainable_parameters, metrics}} ({exc!r})") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read line {line_no + 1} ({exc}); truncated or corrupt file?") from None
    try:
        return builder.build()
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None
