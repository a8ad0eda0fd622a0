"""Detect a NASBench-101 file's format from its content and read it into a :class:`Table`."""

from __future__ import annotations

import gzip
import logging
import os
import shlex
import time
import zlib
from pathlib import Path

from alphax.errors import DataError
from alphax.nasbench.table import Table

__all__ = ["FORMATS", "detect_format", "load_table"]

log = logging.getLogger(__name__)

FORMATS = ("compact", "tfrecord", "jsonl")
OFFICIAL_NAMES = ("nasbench_full.tfrecord", "nasbench_only108.tfrecord")
"""The official files' names: under them, a file with fewer cells than the space is warned about."""
SLOW_READ_BYTES = 64 * 2**20
"""An official file at least this big is announced as it is read, with the way to a faster one (reading
takes about 40 s a GB on one core: a minute for ``nasbench_full.tfrecord``; a compact file, under a second)."""
_EXPECTED = ("expected an official NASBench-101 .tfrecord (nasbench_full / nasbench_only108), the real subset "
             "nb101_real_subset.jsonl.gz, or a compact .nb101 file written by 'alphax nasbench convert'")


_BLANK_LINES = 16 << 20        # blank bytes read before a file is called no data file


def detect_format(path: str | os.PathLike) -> str:
    """``"compact"``, ``"tfrecord"`` or ``"jsonl"``, from the first bytes of the file.

    Raises :class:`DataError` for a missing or unreadable file, or one of none of these formats.
    """
    from alphax.nasbench.compact import MAGIC
    from alphax.nasbench.tfrecord import looks_like_tfrecord

    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            text = head.removeprefix(b"\xef\xbb\xbf").lstrip()          # a UTF-8 byte-order mark is allowed
            read = len(head)
            while head and not text and read < _BLANK_LINES:     # JSON Lines may begin with blank lines
                chunk = f.read(64 * 1024)
                if not chunk:
                    break
                read += len(chunk)
                text = chunk.lstrip()[:64]
    except FileNotFoundError:
        raise DataError(f"NASBench-101 data file {path} does not exist") from None
    except OSError as exc:
        raise DataError(f"cannot read NASBench-101 data file {path}: {exc.strerror}") from None
    if not head:
        raise DataError(f"NASBench-101 data file {path} is empty (0 bytes: an interrupted download or copy?); "
                        f"{_EXPECTED}")
    if head.startswith(MAGIC):
        return "compact"
    if looks_like_tfrecord(head):      # before the text tests: a record's length may begin with b"{" or gzip's bytes
        return "tfrecord"
    if text.split(b"\n", 1)[0].strip() in (b"{", b"["):
        raise DataError(f"{path} is a JSON document, not JSON Lines (one cell per line): {_EXPECTED}")
    if head.startswith(b"\x1f\x8b"):
        inner = _gunzipped_head(path)
        if inner.startswith(MAGIC) or looks_like_tfrecord(inner):
            kind = "compact" if inner.startswith(MAGIC) else "TFRecord"
            raise DataError(f"{path} is a gzip-compressed {kind} file, which is read uncompressed: decompress it "
                            f"first (gunzip -k {path}) and give the file it writes")
        return "jsonl"
    if text.startswith(b"{"):
        return "jsonl"
    if path.suffix == ".tfrecord" and len(head) >= 12:      # its first header's CRC fails: a damaged file
        raise DataError(f"{path}: CRC error in the length of the record at byte offset 0 (corrupt file, or no "
                        f"TFRecord); download the file again")
    raise DataError(f"{path} is not a NASBench-101 data file: {_EXPECTED}")


def _gunzipped_head(path: Path) -> bytes:
    """The first bytes of a gzip file's content (b"" where it cannot be decompressed: the JSON Lines reader
    then says what is wrong with it)."""
    try:
        with gzip.open(path, "rb") as f:
            return f.read(64)
    except (OSError, EOFError, zlib.error):
        return b""


def load_table(path: str | os.PathLike, *, convert_hint: bool = True) -> tuple[Table, str]:
    """Read any supported file; returns ``(table, format)``. A file without a single cell is refused, and so
    is a ``.tfrecord`` or JSON Lines file with a cell outside the space or implausible metrics
    (:func:`~alphax.nasbench.table.cell_problem`); a compact file, written from such a checked table, is
    checked by its CRCs and array shapes. An official file of :data:`SLOW_READ_BYTES` or more is announced
    at INFO level before it is read, with (``convert_hint``) the ``alphax nasbench convert`` command that
    makes it fast to load, and again once it is read."""
    fmt = detect_format(path)
    start = time.perf_counter()
    size = os.stat(path).st_size
    slow = fmt == "tfrecord" and size >= SLOW_READ_BYTES
    if slow:
        from alphax.nasbench.paths import COMPACT_NAME

        compact = Path(path).with_name(COMPACT_NAME)
        command = shlex.join(["alphax", "nasbench", "convert", str(path), "-o", str(compact)])
        log.info("reading %s (%.1f GB in NASBench-101's official format: about 40 s a GB, each time it is loaded)%s",
                 path, size / 1e9, f"; '{command}' makes, once, a compact file that loads in under a second (give it "
                 "to --data; in that folder it is found first)" if convert_hint else "")
    if fmt == "compact":
        from alphax.nasbench.compact import read_compact, read_note

        table = read_compact(path)
        note = read_note(path)
        if note:
            log.warning("%s is labelled: %s", path, note)
    elif fmt == "tfrecord":
        from alphax.enumerate import NUM_CELLS
        from alphax.nasbench.tfrecord import read_official

        table = read_official(path)
        if Path(path).name in OFFICIAL_NAMES and 0 < len(table) < NUM_CELLS:
            # a file cut exactly between two records reads as a whole one: only the count can tell
            log.warning("%s holds %d cells where the official file holds %d: a download or copy cut short? "
                        "(queries of the missing cells will say they have no data)", path, len(table), NUM_CELLS)
    else:
        from alphax.nasbench.jsonl import read_jsonl

        table = read_jsonl(path)
    if not len(table):
        raise DataError(f"{path} holds no NASBench-101 cells (an empty or truncated {fmt} file?): {_EXPECTED}")
    if fmt != "compact":   # a compact file is written from a table read (and checked) here, and CRC-checked
        from alphax.nasbench.table import cell_problem

        problem = cell_problem(table)
        if problem:
            raise DataError(f"{path}: {problem}; NASBench-101 data holds pruned cells of its space with "
                            f"accuracies in [0, 1]: fix or remove that row")
    log.log(logging.INFO if slow else logging.DEBUG, "read %d cells from %s (%s) in %.2f s", len(table), path, fmt,
            time.perf_counter() - start)
    return table, fmt
