"""NASBench-101 offline: data paths, the official TFRecord reader/writer, the real subset, the compact file
and the query semantics of the official API."""

from __future__ import annotations

import json
import re
import shlex
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alphax.errors import ConfigError, DataError, OutOfDomainError
from alphax.nasbench import NASBench101, paths
from alphax.nasbench.compact import MAGIC, read_compact, write_compact
from alphax.nasbench.formats import detect_format, load_table
from alphax.nasbench.jsonl import read_jsonl
from alphax.nasbench.table import METRICS, TableBuilder
from alphax.nasbench.tfrecord import encode_record, masked_crc, read_official, write_official, write_records
from alphax.spec import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, CellSpec
from conftest import SUBSET, shared_file

OPTIMUM = "02e5a0247bbdcf2860b7e96f74961594"
BUDGETS = (4, 12, 36, 108)

# -- synthetic official-format files ---------------------------------------------------------------

SPECS = [
    CellSpec([[0, 1], [0, 0]], [INPUT, OUTPUT]),
    CellSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT]),
    CellSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, MAXPOOL3X3, OUTPUT]),
    CellSpec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [INPUT, CONV1X1, CONV3X3, OUTPUT]),
]


def synthetic_cells(budgets=BUDGETS, repeats=3):
    """(hash, fixed, computed) for SPECS with distinct generated metrics, halfway included."""
    out = []
    for c, spec in enumerate(SPECS):
        fixed = {"module_adjacency": spec.matrix, "module_operations": spec.ops, "trainable_parameters": 1000 + c}
        computed = {}
        for e in budgets:
            runs = []
            for r in range(repeats):
                run = {}
                for p, scale in (("halfway", 0.5), ("final", 1.0)):
                    run[f"{p}_training_time"] = scale * (10.0 * e + c) + r
                    for k, m in enumerate(METRICS[1:]):
                        run[f"{p}_{m}"] = round(0.3 + scale * 0.5 + 0.01 * c + 0.001 * r + 0.0001 * k + e * 1e-6, 9)
                runs.append(run)
            computed[e] = runs
        out.append((spec.hash, fixed, computed))
    return out


@pytest.fixture
def full_file(tmp_path) -> Path:
    path = tmp_path / "nasbench_full.tfrecord"
    assert write_official(path, synthetic_cells()) == len(SPECS) * 4 * 3
    return path


@pytest.fixture
def only108_file(tmp_path) -> Path:
    path = tmp_path / "nasbench_only108.tfrecord"
    write_official(path, synthetic_cells(budgets=(108,)))
    return path


# -- paths -----------------------------------------------------------------------------------------

def test_paths_explicit_env_and_folder(tmp_path, monkeypatch):
    for name in ("nb101_real_subset.jsonl.gz", "nasbench_full.tfrecord"):
        (tmp_path / name).write_bytes(b"x")
    assert paths.resolve_data_path(tmp_path) == tmp_path / "nasbench_full.tfrecord"
    (tmp_path / "nasbench_only108.tfrecord").write_bytes(b"x")
    assert paths.resolve_data_path(tmp_path) == tmp_path / "nasbench_only108.tfrecord"
    (tmp_path / "other.nb101").write_bytes(b"x")
    assert paths.resolve_data_path(str(tmp_path)) == tmp_path / "other.nb101"
    (tmp_path / "another.nb101").write_bytes(b"x")        # which one is meant: not guessed (was the first by name)
    with pytest.raises(DataError, match=r"holds several .nb101 files \(another.nb101, other.nb101\) and no "
                                        r"nasbench101.nb101: give the one to read with --data FILE"):
        paths.resolve_data_path(tmp_path)
    (tmp_path / paths.COMPACT_NAME).write_bytes(b"x")
    assert paths.resolve_data_path(tmp_path) == tmp_path / paths.COMPACT_NAME
    explicit = tmp_path / "nasbench_full.tfrecord"
    assert paths.resolve_data_path(explicit) == explicit
    monkeypatch.setenv(paths.ENV_VAR, str(explicit))
    assert paths.resolve_data_path() == explicit == paths.default_data_path()
    assert paths.resolve_data_path(tmp_path / "other.nb101") == tmp_path / "other.nb101"  # --data wins


def test_a_labelled_compact_file_is_not_picked_from_a_folder(only108_file, tmp_path, caplog):
    """benchmarks/bench_nasbench.py's speed fixture (generated metrics, labelled so in its header) beside
    the official file is never taken for the data; given by name it loads, with its label as a warning."""
    folder = tmp_path / "data"
    folder.mkdir()
    official = folder / "nasbench_only108.tfrecord"
    official.write_bytes(only108_file.read_bytes())
    fixture = folder / "SPEED_FIXTURE_generated_metrics.nb101"
    write_compact(fixture, read_official(official), note="SPEED FIXTURE: GENERATED metrics; never use as data")
    assert paths.resolve_data_path(folder) == official
    caplog.clear()
    load_table(official)
    assert "is labelled" not in caplog.text
    load_table(fixture)
    assert "is labelled: SPEED FIXTURE: GENERATED metrics; never use as data" in caplog.text
    write_compact(folder / "mine.nb101", read_official(official))      # a plain convert output still ranks first
    assert paths.resolve_data_path(folder) == folder / "mine.nb101"


def test_labelled_files_stay_labelled_whatever_their_name_or_copy(only108_file, tmp_path):
    """A labelled fixture named like the preferred compact file is still passed over in a folder, and
    converting it (compact to compact) keeps its label."""
    from alphax.cli import main
    from alphax.nasbench.compact import read_note

    folder = tmp_path / "data"
    folder.mkdir()
    official = folder / "nasbench_only108.tfrecord"
    official.write_bytes(only108_file.read_bytes())
    note = "SPEED FIXTURE: GENERATED metrics; never use as data"
    write_compact(folder / paths.COMPACT_NAME, read_official(official), note=note)
    assert paths.resolve_data_path(folder) == official
    copy = tmp_path / "copy.nb101"
    assert main(["nasbench", "convert", str(folder / paths.COMPACT_NAME), "-o", str(copy)]) == 0
    assert read_note(copy) == note
    assert main(["nasbench", "convert", str(official), "-o", str(tmp_path / "plain.nb101")]) == 0
    assert read_note(tmp_path / "plain.nb101") is None


@pytest.mark.parametrize("low_bytes", [b"{", b"\x1f\x8b"])
def test_a_tfrecord_whose_first_length_looks_like_text_or_gzip_is_a_tfrecord(tmp_path, low_bytes):
    """The format is told by the record header's CRC first: a first record whose length begins with the
    byte of "{" (JSON Lines) or gzip's magic (1 file in 256, or in 65,536) is still read as a TFRecord.
    The official reader parses a record with json.loads, so padding it with spaces keeps it a record."""
    spec = SPECS[1]
    record = encode_record(spec.hash, 108, spec.matrix, spec.ops, trainable_parameters=1,
                           halfway={}, final={"validation_accuracy": 0.5})
    modulus = 256 ** len(low_bytes)
    target = int.from_bytes(low_bytes, "little")
    record += b" " * ((target - len(record)) % modulus)
    path = tmp_path / "nasbench_only108.tfrecord"
    write_records(path, [record])
    assert path.read_bytes()[:len(low_bytes)] == low_bytes
    assert detect_format(path) == "tfrecord"
    assert NASBench101(path, seed=0).query(spec)["validation_accuracy"] == 0.5


def test_an_official_file_with_fewer_cells_than_the_space_is_warned_about(only108_file, tmp_path, caplog):
    """A copy cut exactly between two records has intact framing: only its cell count tells."""
    with caplog.at_level("WARNING", logger="alphax.nasbench.formats"):
        load_table(only108_file)
    assert "holds 4 cells where the official file holds 423624: a download or copy cut short?" in caplog.text
    caplog.clear()
    other = tmp_path / "mine.tfrecord"
    other.write_bytes(only108_file.read_bytes())
    with caplog.at_level("WARNING", logger="alphax.nasbench.formats"):
        load_table(other)                                     # not the official file: any size is fine
    assert "cut short" not in caplog.text


def test_a_stored_hash_that_is_not_its_cell_s_is_refused(tmp_path):
    """Rows whose hashes are not NASBench-101's module hashes of their cells (another tool's hashes, an
    edited row) would answer queries under the wrong key: a sample of cells is hashed as the file loads."""
    path = tmp_path / "cells.jsonl"
    rows = [json.loads(_row(spec, **{"108": {"validation_accuracy": 0.5}})) for spec in SPECS]
    rows[-1]["hash"] = "ab" * 16
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=f"cell {'ab' * 16}: its stored hash is not its cell's module hash "
                                        f"\\({SPECS[-1].hash}\\)"):
        NASBench101(path)


def test_two_cells_under_one_hash_are_refused_naming_the_line(tmp_path):
    """A record of a known hash is a further repeat of the cell its first record gave: one whose matrix or
    ops differ (an edited or merged file) would lend its results to the other cell and drop its own, so it
    is refused, in both formats, naming where it is. A record of the same cell is a repeat, as before."""
    path = tmp_path / "cells.jsonl"
    rows = [json.loads(_row(spec, **{"108": {"validation_accuracy": 0.5}})) for spec in SPECS]
    rows[-1]["hash"] = rows[-2]["hash"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=f"cells.jsonl: line {len(rows)} is not a NASBench-101 cell row .*cell "
                                        f"{rows[-2]['hash']}: this record's matrix and ops are not those of the "
                                        f"hash's first record"):
        NASBench101(path)
    rows[-1] = rows[-2]                                       # the same cell again: a second repeat
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert len(NASBench101(path).get_metrics_from_hash(rows[-2]["hash"])[1][108]) == 2

    official = tmp_path / "two.tfrecord"
    one, other = SPECS[1], SPECS[2]
    write_records(official, [encode_record(one.hash, 108, one.matrix.tolist(), one.ops, trainable_parameters=1,
                                           halfway={}, final={}),
                             encode_record(one.hash, 12, other.matrix.tolist(), other.ops, trainable_parameters=1,
                                           halfway={}, final={})])
    with pytest.raises(DataError, match=r"two.tfrecord: record at byte offset [1-9]\d* .*this record's matrix "
                                        r"and ops are not those of the hash's first record"):
        NASBench101(official)                         # the second record's offset, not 0


def test_ragged_matrix_rows_are_refused_even_when_their_total_fits(tmp_path):
    path = tmp_path / "cells.jsonl"
    row = json.loads(_row(SPECS[1], **{"108": {"validation_accuracy": 0.5}}))
    row["matrix"] = [[0, 1, 0, 0], [0, 1], [0, 0, 0]]                  # 9 entries for 3 ops
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"line 1 .*adjacency rows of lengths \[4, 2, 3\] for 3 ops"):
        NASBench101(path)


def test_more_repeats_than_a_table_holds_is_an_error_not_a_wrap(tmp_path):
    """The repeat counts are int8: a file with 128 records of one cell at one budget (a file that repeats
    its records; NASBench-101 has 3) is refused, naming the cell, instead of wrapping to a negative count."""
    path = tmp_path / "cells.jsonl"
    path.write_text(_row(SPECS[1], **{"108": [{"validation_accuracy": 0.5}] * 128}) + "\n")
    with pytest.raises(DataError, match=f"cells.jsonl: cell {SPECS[1].hash} has 128 records at 108 epochs"):
        NASBench101(path)
    path.write_text(_row(SPECS[1], **{"108": [{"validation_accuracy": 0.5}] * 127}) + "\n")
    assert len(NASBench101(path).get_metrics_from_hash(SPECS[1].hash)[1][108]) == 127


def test_a_json_document_is_told_apart_from_json_lines(tmp_path):
    """The shared folder's nb101_full_records.json is one pretty-printed document, not data: said so, not
    "line 1 is not a cell row". A JSON Lines file with a UTF-8 byte-order mark reads as without."""
    with pytest.raises(DataError, match="is a JSON document, not JSON Lines .one cell per line.: expected an "
                                        "official NASBench-101 .tfrecord"):
        load_table(shared_file("nb101_full_records.json"))
    rows = tmp_path / "bom.jsonl"
    import gzip
    with gzip.open(shared_file(SUBSET), "rt", encoding="utf-8") as f:
        lines = [next(f) for _ in range(3)]
    rows.write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode())
    assert len(load_table(rows)[0]) == 3
    # blank lines first, past the 64 bytes the format is told by (a bug hunt, 2026-12-08: "not a data file")
    rows.write_bytes(b"\xef\xbb\xbf" + b"\n" * 64 + b" \r\n" * 40_000 + "".join(lines).encode())
    assert len(load_table(rows)[0]) == 3
    rows.write_bytes(b"\n" * 100_000)
    with pytest.raises(DataError, match="is not a NASBench-101 data file"):
        load_table(rows)


def test_a_tfrecord_whose_first_header_fails_its_crc_is_called_corrupt(tmp_path):
    """Its first length's CRC was "not a NASBench-101 data file" while a later one's was a CRC error (a bug
    hunt, 2026-12-08): both are one now."""
    path = tmp_path / "nasbench_only108.tfrecord"
    write_official(path, synthetic_cells())
    data = bytearray(path.read_bytes())
    data[9] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="CRC error in the length of the record at byte offset 0 .*download"):
        load_table(path)


def test_paths_errors(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="given with --data"):
        paths.resolve_data_path(tmp_path / "missing.tfrecord")
    with pytest.raises(DataError, match="no NASBench-101 data file in .*nb101_real_subset.jsonl.gz"):
        paths.resolve_data_path(tmp_path)
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match=r"from \$ALPHAX_NASBENCH101.*--data"):
        paths.resolve_data_path()
    monkeypatch.delenv(paths.ENV_VAR)
    monkeypatch.setattr(paths, "default_dirs", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(DataError, match=r"not found.*ALPHAX_NASBENCH101.*https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord"):
        paths.default_data_path()


def test_a_folder_that_cannot_be_searched_is_named_not_a_file_in_it(tmp_path, monkeypatch):
    """A folder of mode 000 (for a user it bars): Path.is_file of a name inside raises PermissionError,
    which would be reported as that file's, a file that may not exist. Simulated (tests run as root)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    is_file = Path.is_file

    def barred(self):
        if self.parent == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return is_file(self)

    monkeypatch.setattr(Path, "is_file", barred)
    with pytest.raises(DataError, match=f"NASBench-101 data folder {locked} \\(given with --data\\) cannot be "
                                        f"read \\(permission denied\\); make it readable, or give the data file"):
        paths.resolve_data_path(locked)


def test_paths_default_folders(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)                          # ../shared from the repository root is the same folder:
    assert paths.default_dirs() == [repo.parent / "shared" / "data" / "nasbench101"]     # named once
    monkeypatch.chdir(tmp_path)
    assert paths.default_dirs() == [tmp_path.parent / "shared" / "data" / "nasbench101",
                                    repo.parent / "shared" / "data" / "nasbench101"]
    data = tmp_path / "shared" / "data" / "nasbench101"
    data.mkdir(parents=True)
    (data / "nasbench_only108.tfrecord").write_bytes(b"x")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert paths.resolve_data_path().resolve() == (data / "nasbench_only108.tfrecord").resolve()


# -- the official format ---------------------------------------------------------------------------

def test_masked_crc_reference_values():
    # CRC-32C check value of "123456789" is 0xE3069283; the mask is TFRecord's.
    crc = 0xE3069283
    assert masked_crc(b"123456789") == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    assert masked_crc(b"") == 0xA282EAD8


@pytest.mark.parametrize("flavour", ["full", "only108"])
def test_official_round_trip(flavour, full_file, only108_file):
    path = full_file if flavour == "full" else only108_file
    budgets = BUDGETS if flavour == "full" else (108,)
    assert detect_format(path) == "tfrecord"
    nb = NASBench101(path, seed=0)
    assert nb.format == "tfrecord" and len(nb) == len(SPECS) and nb.valid_epochs == set(budgets)
    for h, fixed, computed in synthetic_cells(budgets=budgets):
        got_fixed, got_computed = nb.get_metrics_from_hash(h)
        assert got_fixed["module_adjacency"].tolist() == fixed["module_adjacency"].tolist()
        assert got_fixed["module_operations"] == fixed["module_operations"]
        assert got_fixed["trainable_parameters"] == fixed["trainable_parameters"]
        assert got_computed == computed
    assert nb.info()["repeats"] == {str(e): 3 for e in budgets}
    assert "halfway_validation_accuracy" in nb.info()["fields"] and "test_accuracy" in nb.info()["fields"]


def test_official_unset_fields_are_none(tmp_path):
    spec = SPECS[1]
    rec = encode_record(spec.hash, 108, spec.matrix, spec.ops, trainable_parameters=None,
                        halfway={}, final={"validation_accuracy": 0.5})
    write_records(tmp_path / "f.tfrecord", [rec])
    q = NASBench101(tmp_path / "f.tfrecord").query(spec)
    assert q["validation_accuracy"] == 0.5
    assert q["trainable_parameters"] is None and q["test_accuracy"] is None and q["training_time"] is None


def _varint(x: int) -> bytes:
    out = b""
    while True:
        byte, x = x & 0x7F, x >> 7
        out += bytes([byte | (0x80 if x else 0)])
        if not x:
            return out


def test_an_official_record_encoded_by_hand_reads_each_field_from_its_proto_number(tmp_path):
    """The reader's message classes mirror nasbench's model_metrics.proto; its own writer shares them, so a
    round trip cannot see a field under another number. Here a record is encoded byte by byte as nasbench
    wrote it (EvaluationData: current_epoch 1, training_time 2, train_accuracy 3, validation_accuracy 4,
    test_accuracy 5, checkpoint_path 6; ModelMetrics: evaluation_data 1, trainable_parameters 2,
    total_time 3), framed as a TFRecord by hand, and every value must come back under its own name."""
    import base64

    import crc32c

    def double(number, value):
        return bytes([number << 3 | 1]) + struct.pack("<d", value)

    def evaluation(epoch, time_, train, valid, test, ckpt=b""):
        body = double(1, epoch) + double(2, time_) + double(3, train) + double(4, valid) + double(5, test)
        return body + (bytes([6 << 3 | 2]) + _varint(len(ckpt)) + ckpt if ckpt else b"")

    points = [evaluation(0.0, 0.0, 0.1, 0.11, 0.12, b"/model.ckpt-0"),
              evaluation(54.0, 1500.25, 0.61, 0.62, 0.63), evaluation(108.0, 3000.5, 0.91, 0.92, 0.93)]
    metrics = b"".join(bytes([1 << 3 | 2]) + _varint(len(p)) + p for p in points)
    metrics += bytes([2 << 3 | 0]) + _varint(2_694_282) + double(3, 3210.75)
    spec = SPECS[3]
    adjacency = "".join(str(x) for row in spec.matrix.tolist() for x in row)
    data = json.dumps([spec.hash, 108, adjacency, ",".join(spec.ops), base64.b64encode(metrics).decode()]).encode()

    def masked(b):                        # TFRecord's mask of CRC-32C, computed here, not by the reader's code
        crc = crc32c.crc32c(b)
        return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    length = struct.pack("<Q", len(data))
    path = tmp_path / "nasbench_only108.tfrecord"
    path.write_bytes(length + struct.pack("<I", masked(length)) + data + struct.pack("<I", masked(data)))
    nb = NASBench101(path, seed=0)
    fixed, computed = nb.get_metrics_from_hash(spec.hash)
    assert fixed["trainable_parameters"] == 2_694_282
    assert computed == {108: [{"halfway_training_time": 1500.25, "halfway_train_accuracy": 0.61,
                               "halfway_validation_accuracy": 0.62, "halfway_test_accuracy": 0.63,
                               "final_training_time": 3000.5, "final_train_accuracy": 0.91,
                               "final_validation_accuracy": 0.92, "final_test_accuracy": 0.93}]}
    q = nb.query(spec)
    assert (q["validation_accuracy"], q["test_accuracy"], q["train_accuracy"], q["training_time"]) == \
        (0.92, 0.93, 0.91, 3000.5)


@pytest.mark.parametrize("points", [1, 2])
def test_a_record_with_fewer_than_three_evaluation_points_is_bad_data(tmp_path, points):
    """The official API reads the halfway point from evaluation_data[1] and the end from [2]: a record with
    fewer is a DataError naming the record, not an IndexError traceback."""
    import base64

    from alphax.nasbench.tfrecord import model_metrics_class

    msg = model_metrics_class()()
    for k in range(points):
        msg.evaluation_data.add(current_epoch=54.0 * k, validation_accuracy=0.5)
    spec = SPECS[1]
    good = json.loads(encode_record(spec.hash, 108, spec.matrix, spec.ops, trainable_parameters=1, halfway={},
                                    final={}))
    good[4] = base64.b64encode(msg.SerializeToString()).decode()
    path = tmp_path / "bad.tfrecord"
    write_records(path, [json.dumps(good).encode()])
    with pytest.raises(DataError, match=f"record at byte offset 0 .*{points} evaluation points, the official API needs 3"):
        NASBench101(path)


@pytest.mark.parametrize("epochs", [107.9, True, "108", None])
def test_a_record_whose_epochs_are_no_whole_number_is_refused(tmp_path, epochs):
    """107.9 was read as budget 107, true as 1, "108" as 108 (a bug hunt, 2026-12-08)."""
    spec = SPECS[1]
    row = json.loads(encode_record(spec.hash, 108, spec.matrix, spec.ops, trainable_parameters=1,
                                   halfway={"validation_accuracy": 0.5}, final={"validation_accuracy": 0.6}))
    row[1] = epochs
    path = tmp_path / "bad.tfrecord"
    write_records(path, [json.dumps(row).encode()])
    with pytest.raises(DataError, match=f"record at byte offset 0 is not a NASBench-101 row "
                                        f".*epochs {re.escape(repr(epochs))} is no whole number"):
        NASBench101(path)


def _offsets(path: Path) -> list[int]:
    data, out, off = path.read_bytes(), [], 0
    while off < len(data):
        out.append(off)
        off += 16 + struct.unpack_from("<Q", data, off)[0]
    return out


def test_truncated_file(full_file):
    data = full_file.read_bytes()
    offs = _offsets(full_file)
    length = offs[3] - offs[2] - 16
    for cut, what in ((offs[2] + 5, "length header"), (offs[2] + 12 + length // 2, "data"),
                      (offs[2] + 12 + length + 2, "data CRC")):
        full_file.write_bytes(data[:cut])
        with pytest.raises(DataError, match=f"{full_file.name}: truncated .* offset {offs[2]} .*{what}.*download"):
            read_official(full_file)


@pytest.mark.parametrize("length", [2**40, 2**63 + 5])
def test_a_length_beyond_the_file_is_truncation_not_a_crash(tmp_path, length):
    """A length header whose CRC matches but which claims more bytes than the file holds (a corrupt or
    hostile file) is reported before anything is read, rather than allocating it (MemoryError)."""
    head = struct.pack("<Q", length)
    path = tmp_path / "f.tfrecord"
    path.write_bytes(head + struct.pack("<I", masked_crc(head)) + b"x" * 100)
    with pytest.raises(DataError, match=f"truncated TFRecord file: the record at byte offset 0 claims {length} "
                                        f"bytes of data, the file has 100 after its header; download"):
        read_official(path)


def test_crc_errors(full_file):
    data = bytearray(full_file.read_bytes())
    offs = _offsets(full_file)
    bad = bytearray(data)
    bad[offs[1] + 20] ^= 0x01
    full_file.write_bytes(bytes(bad))
    with pytest.raises(DataError, match=f"CRC error in the data of the record at byte offset {offs[1]}"):
        NASBench101(full_file)
    bad = bytearray(data)
    bad[offs[2] + 1] ^= 0x01
    full_file.write_bytes(bytes(bad))
    with pytest.raises(DataError, match=f"CRC error in the length of the record at byte offset {offs[2]}"):
        read_official(full_file)


@pytest.mark.parametrize("payload, needle", [
    (b"not json", "not a NASBench-101 row"),
    (b'{"a": 1}', "not a NASBench-101 row"),
    (json.dumps(["0" * 32, 108, "0100", "input,output", "@@@"]).encode(), "not a NASBench-101 row"),
    (json.dumps(["0" * 32, 108, "0100", "input,output", ""]).encode(), "0 evaluation points"),
    (json.dumps(["0" * 32, 108, "01", "input,output", ""]).encode(), "not a V x V 0/1 matrix"),
    (json.dumps(["0" * 32, 108, "010001000", "input,conv9,output", ""]).encode(), "unknown op"),
])
def test_bad_records(tmp_path, payload, needle):
    if needle in ("not a V x V 0/1 matrix", "unknown op"):  # a well-formed ModelMetrics, a malformed cell
        good = json.loads(encode_record("0" * 32, 108, [[0, 1], [0, 0]], [INPUT, OUTPUT], trainable_parameters=1,
                                        halfway={}, final={}))
        row = json.loads(payload)
        row[4] = good[4]
        payload = json.dumps(row).encode()
    path = tmp_path / "bad.tfrecord"
    write_records(path, [payload])
    with pytest.raises(DataError, match=f"bad.tfrecord: record at byte offset 0 .*{needle}"):
        NASBench101(path)


@pytest.mark.parametrize("bad_hash", ["abc", "z" * 32, "A" * 32])
def test_bad_hash_in_record(tmp_path, bad_hash):
    path = tmp_path / "bad.tfrecord"
    write_records(path, [encode_record(bad_hash, 108, [[0, 1], [0, 0]], [INPUT, OUTPUT], trainable_parameters=1,
                                       halfway={}, final={})])
    with pytest.raises(DataError, match="32 hex characters"):
        read_official(path)


def test_wrong_format_and_missing_file(tmp_path):
    wrong = tmp_path / "notes.txt"
    wrong.write_text("hello, this is not NASBench\n")
    with pytest.raises(DataError, match=r"notes.txt is not a NASBench-101 data file: expected .*tfrecord"):
        NASBench101(wrong)
    with pytest.raises(DataError, match="does not exist"):
        NASBench101(tmp_path / "missing.tfrecord")
    with pytest.raises(DataError, match="does not exist"):
        detect_format(tmp_path / "missing.tfrecord")
    with pytest.raises(DataError, match="cannot read"):
        detect_format(tmp_path)  # a folder is not readable as a file
    (tmp_path / "cut.tfrecord").write_bytes(b"")
    with pytest.raises(DataError, match=r"cut.tfrecord is empty \(0 bytes: an interrupted download"):
        NASBench101(tmp_path / "cut.tfrecord")
    with pytest.raises(DataError, match="cannot read"):
        read_official(tmp_path / "missing.tfrecord")


def test_a_gzipped_tfrecord_or_compact_file_says_to_decompress_it(only108_file, tmp_path):
    """A .tfrecord or compact file that was gzipped (to move it) is named as such with the way out, not read
    as gzipped JSON Lines ("cannot read line 1 ...: truncated or corrupt file?")."""
    import gzip

    compact = tmp_path / "c.nb101"
    write_compact(compact, read_official(only108_file))
    for path, kind in ((only108_file, "TFRecord"), (compact, "compact")):
        zipped = tmp_path / (path.name + ".gz")
        zipped.write_bytes(gzip.compress(path.read_bytes()))
        with pytest.raises(DataError, match=rf"{zipped.name} is a gzip-compressed {kind} file, which is read "
                                            rf"uncompressed: decompress it first \(gunzip -k "):
            load_table(zipped)
    lines = tmp_path / "cells.jsonl.gz"                # gzipped JSON Lines are read as they are
    lines.write_bytes(gzip.compress(b"not json\n"))
    assert detect_format(lines) == "jsonl"


def test_write_refuses_to_overwrite(full_file):
    with pytest.raises(DataError, match="already exists"):
        write_official(full_file, synthetic_cells())
    write_official(full_file, synthetic_cells(budgets=(108,)), overwrite=True)
    assert NASBench101(full_file).valid_epochs == {108}


# -- query semantics -------------------------------------------------------------------------------

def test_query_repeat_is_random_seedable_and_all_reachable(full_file):
    a, b, c = NASBench101(full_file, seed=1), NASBench101(full_file, seed=1), NASBench101(full_file, seed=2)
    spec = SPECS[3]
    seq_a = [a.query(spec)["validation_accuracy"] for _ in range(60)]
    assert seq_a == [b.query(spec)["validation_accuracy"] for _ in range(60)]
    assert seq_a != [c.query(spec)["validation_accuracy"] for _ in range(60)]
    recorded = {run["final_validation_accuracy"] for run in a.get_metrics_from_hash(spec.hash)[1][108]}
    assert len(recorded) == 3 and set(seq_a) == recorded
    # An explicit rng decides alone and leaves the data set's own generator untouched.
    state = a.rng.bit_generator.state
    r1 = [a.query(spec, rng=np.random.default_rng(7))["test_accuracy"] for _ in range(5)]
    r2 = [a.query(spec, rng=np.random.default_rng(7))["test_accuracy"] for _ in range(5)]
    assert r1 == r2 and len(set(r1)) == 1 and a.rng.bit_generator.state == state


def test_query_fields_and_stored_representative(full_file):
    nb = NASBench101(full_file, seed=0)
    # The same diamond with its two interior vertices swapped: same hash, the stored matrix comes back.
    swapped = CellSpec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [INPUT, CONV3X3, CONV1X1, OUTPUT])
    q = nb.query(swapped, epochs=12)
    assert set(q) == {"module_adjacency", "module_operations", "trainable_parameters", "training_time",
                      "train_accuracy", "validation_accuracy", "test_accuracy"}
    assert q["module_operations"] == SPECS[3].ops and q["module_adjacency"].dtype == np.int8
    assert q["module_adjacency"].tolist() == SPECS[3].matrix.tolist() and q["trainable_parameters"] == 1003
    q["module_adjacency"][0, 1] = 0  # a copy: the table is not changed
    assert nb.query(SPECS[3])["module_adjacency"][0, 1] == 1


def test_budget_counters_and_stop_halfway(full_file):
    nb = NASBench101(full_file, seed=3)
    assert nb.get_budget_counters() == (0.0, 0)
    runs = nb.get_metrics_from_hash(SPECS[2].hash)[1]
    total = 0.0
    q = nb.query(SPECS[2], epochs=36)
    assert q["training_time"] in {r["final_training_time"] for r in runs[36]}
    total += q["training_time"]
    h = nb.query(SPECS[2], epochs=36, stop_halfway=True)
    match = [r for r in runs[36] if r["halfway_training_time"] == h["training_time"]]
    assert len(match) == 1
    assert (h["train_accuracy"], h["validation_accuracy"], h["test_accuracy"]) == (
        match[0]["halfway_train_accuracy"], match[0]["halfway_validation_accuracy"], match[0]["halfway_test_accuracy"])
    total += h["training_time"]
    time_spent, epochs_spent = nb.get_budget_counters()
    assert epochs_spent == 36 + 18 and time_spent == pytest.approx(total)
    nb.query(SPECS[0], epochs=4, stop_halfway=True)
    assert nb.get_budget_counters()[1] == 56
    nb.reset_budget_counters()
    assert nb.get_budget_counters() == (0.0, 0)
    nb.is_valid(SPECS[0])
    nb.get_metrics_from_hash(SPECS[0].hash)
    assert nb.get_budget_counters() == (0.0, 0)


def test_query_errors(full_file, only108_file):
    nb = NASBench101(full_file)
    with pytest.raises(OutOfDomainError, match=r"invalid number of epochs 5, must be one of \[4, 12, 36, 108\]"):
        nb.query(SPECS[0], epochs=5)
    with pytest.raises(OutOfDomainError, match=r"must be one of \[108\]"):
        NASBench101(only108_file).query(SPECS[0], epochs=4)
    disconnected = CellSpec([[0, 0, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    with pytest.raises(OutOfDomainError, match="disconnected"):
        nb.query(disconnected)
    chain8 = CellSpec(np.eye(8, k=1, dtype=int), [INPUT] + [CONV3X3] * 6 + [OUTPUT])
    with pytest.raises(OutOfDomainError, match="8 vertices"):
        nb.query(chain8)
    dense = CellSpec(np.triu(np.ones((6, 6), int), k=1), [INPUT] + [CONV3X3] * 4 + [OUTPUT])
    with pytest.raises(OutOfDomainError, match="15 edges"):
        nb.query(dense)
    no_data = CellSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV1X1, OUTPUT])
    with pytest.raises(OutOfDomainError, match=f"no data for cell {no_data.hash}"):
        nb.query(no_data)
    with pytest.raises(OutOfDomainError, match="no data for module hash"):
        nb.get_metrics_from_hash("f" * 32)
    with pytest.raises(OutOfDomainError, match="no data for module hash"):
        nb.spec_of(None)
    with pytest.raises(TypeError, match="expected a CellSpec"):
        nb.query("input,output")
    assert nb.is_valid(no_data) and not nb.is_valid(disconnected) and not nb.is_valid(chain8)
    assert not nb.is_valid(dense)


def test_no_data_at_a_budget(tmp_path):
    cells = synthetic_cells()
    h, fixed, computed = cells[0]
    cells[0] = (h, fixed, {108: computed[108]})  # this cell only at 108 epochs
    write_official(tmp_path / "f.tfrecord", cells)
    nb = NASBench101(tmp_path / "f.tfrecord")
    with pytest.raises(OutOfDomainError, match="has no data at 4 epochs"):
        nb.query(SPECS[0], epochs=4)
    assert set(nb.get_metrics_from_hash(h)[1]) == {108}
    assert nb.query(SPECS[1], epochs=4)["validation_accuracy"] is not None


def test_duck_typed_spec_hashes_and_iteration(full_file):
    class ModelSpec:  # like nasbench's: matrix and ops
        def __init__(self, matrix, ops):
            self.matrix, self.ops = matrix, ops

    nb = NASBench101(full_file, seed=0)
    assert nb.query(ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT]))["trainable_parameters"] == 1001
    assert nb.is_valid(ModelSpec([[0, 1], [0, 0]], [INPUT, OUTPUT]))
    hashes = [s.hash for s in SPECS]
    assert list(nb.hash_iterator()) == hashes and list(nb.hashes) == hashes
    assert len(nb.hashes) == len(nb) == 4 and SPECS[0].hash in nb.hashes and "x" * 32 not in nb.hashes
    assert 17 not in nb.hashes and nb.hashes == set(hashes)
    for h in hashes:
        spec = nb.spec_of(h)
        assert CellSpec(spec.matrix, spec.ops).hash == h           # hashed again, not the stored hash
    assert "cells=4" in repr(nb)
    other = NASBench101.from_table(nb.table, seed=0)
    assert other.query(SPECS[1]) .keys() == nb.query(SPECS[1]).keys() and other.format == "table"


# -- the compact file ------------------------------------------------------------------------------

def _tables_equal(a, b) -> None:
    for name in ("hashes", "num_vertices", "matrices", "labels", "params", "epochs", "repeats"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.metrics, b.metrics)  # NaN == NaN here


def test_compact_round_trip_official(full_file, tmp_path):
    table = read_official(full_file)
    dst = tmp_path / "x.nb101"
    write_compact(dst, table)
    assert detect_format(dst) == "compact"
    back, fmt = load_table(dst)
    assert fmt == "compact"
    _tables_equal(table, back)
    a, b = NASBench101(full_file), NASBench101(dst)
    for h in a.hash_iterator():
        fa, ca = a.get_metrics_from_hash(h)
        fb, cb = b.get_metrics_from_hash(h)
        assert ca == cb and fa["module_operations"] == fb["module_operations"]
    with pytest.raises(DataError, match="already exists"):
        write_compact(dst, table)
    write_compact(dst, table, overwrite=True)
    assert not list(tmp_path.glob("*.tmp"))


def _rewrite_header(path: Path, mutate) -> None:
    """Re-serialise a compact file with its JSON header changed by ``mutate`` (arrays unchanged)."""
    data = path.read_bytes()
    (length,) = struct.unpack_from("<Q", data, 8)
    header = json.loads(data[16:16 + length])
    base = 16 + length + (-(16 + length) % 64)
    mutate(header)
    head = json.dumps(header).encode()
    prefix = MAGIC + struct.pack("<Q", len(head)) + head
    prefix += b"\0" * (-len(prefix) % 64)
    path.write_bytes(prefix + data[base:])


def test_compact_errors(full_file, tmp_path):
    table = read_official(full_file)
    dst = tmp_path / "x.nb101"
    write_compact(dst, table)
    good = dst.read_bytes()
    dst.write_bytes(good[:-100])
    with pytest.raises(DataError, match="x.nb101: truncated compact file: array metrics"):
        NASBench101(dst)
    bad = bytearray(good)
    bad[-200] ^= 0xFF
    dst.write_bytes(bytes(bad))
    with pytest.raises(DataError, match="CRC error in array metrics"):
        read_compact(dst)
    assert read_compact(dst, verify=False).metrics.shape == table.metrics.shape
    dst.write_bytes(good[:8] + b"\xff" * 8 + good[16:])
    with pytest.raises(DataError, match="unreadable compact-file header"):
        read_compact(dst)
    (tmp_path / "nomagic").write_bytes(b"nothing")
    with pytest.raises(DataError, match="not a compact NASBench-101 file"):
        read_compact(tmp_path / "nomagic")
    (tmp_path / "magic-only").write_bytes(MAGIC)
    with pytest.raises(DataError, match="truncated compact file .*preamble"):
        read_compact(tmp_path / "magic-only")
    dst.write_bytes(good[:40])
    with pytest.raises(DataError, match=r"truncated compact file \(it ends inside its \d+-byte header\); convert the source"):
        read_compact(dst)
    for mutate, needle in (
            (lambda h: h.update(version=99), "version 99"),
            (lambda h: h.update(version=str(h["version"])), "version '1', this AlphaX reads version 1"),
            (lambda h: h["arrays"]["params"].update(shape=[10**30]), "array params of shape .* cannot have"),
            (lambda h: h["arrays"]["params"].update(shape=[4.5]), "not a list of integers"),
            (lambda h: h["arrays"]["metrics"].update(dtype="<f4"), "array metrics has dtype"),
            (lambda h: h["arrays"]["params"].update(shape=[3]), "array params of shape"),
            (lambda h: h["arrays"]["metrics"].update(offset="abc"), "unreadable compact-file header"),
            (lambda h: h["arrays"]["metrics"].update(offset=float("inf")), "unreadable compact-file header"),
            (lambda h: h["arrays"]["metrics"].pop("shape"), "unreadable compact-file header"),
            (lambda h: h["arrays"]["metrics"].update(nbytes=-8), "negative shape, offset or size"),
            (lambda h: h["arrays"].pop("labels"), "unreadable compact-file header"),
            # same byte counts, other shapes: the CRCs still match, so only the shape check can catch them
            (lambda h: h["arrays"]["matrices"].update(shape=[h["cells"], 49]), "array matrices has shape"),
            (lambda h: h["arrays"]["metrics"].update(shape=[h["cells"], len(h["epochs"]), 2 * h["repeats"], 2, 2]),
             "array metrics has shape")):
        dst.write_bytes(good)
        _rewrite_header(dst, mutate)
        with pytest.raises(DataError, match=needle):
            read_compact(dst)
    import dataclasses
    write_compact(dst, dataclasses.replace(table, repeats=table.repeats[:2]), overwrite=True)
    with pytest.raises(DataError, match="array repeats has shape"):
        read_compact(dst)


# -- the JSON Lines reader -------------------------------------------------------------------------

def _row(spec: CellSpec, **metrics) -> str:
    return json.dumps({"hash": spec.hash, "matrix": spec.matrix.tolist(), "ops": spec.ops,
                       "trainable_parameters": 5, "metrics": metrics})


def test_a_jsonl_metric_of_no_known_name_is_refused_not_dropped(tmp_path):
    """A typo (validaton_accuracy) loaded the cell with no accuracy, unsaid (a bug hunt, 2026-12-08)."""
    path = tmp_path / "cells.jsonl"
    path.write_text(_row(SPECS[1], **{"108": {"validaton_accuracy": 0.5}}) + "\n")
    with pytest.raises(DataError, match="line 1 is not a NASBench-101 cell row .*unknown metric 'validaton_accuracy': "
                                        "a repeat's metrics are training_time, .*halfway_ or final_"):
        NASBench101(path)


def test_jsonl_plain_repeats_and_prefixed_names(tmp_path):
    path = tmp_path / "cells.jsonl"
    path.write_text(_row(SPECS[1], **{"108": [{"validation_accuracy": 0.5, "halfway_validation_accuracy": 0.25},
                                               {"final_validation_accuracy": 0.75}]}) + "\n\n")
    nb = NASBench101(path, seed=0)
    assert nb.format == "jsonl"
    runs = nb.get_metrics_from_hash(SPECS[1].hash)[1][108]
    assert [r["final_validation_accuracy"] for r in runs] == [0.5, 0.75]
    assert runs[0]["halfway_validation_accuracy"] == 0.25 and runs[1]["halfway_validation_accuracy"] is None
    # the seed also positionally, as the official NASBench(dataset_file, seed=None) takes it (2026-12-08)
    spec = {"matrix": SPECS[1].matrix.tolist(), "ops": SPECS[1].ops}
    draws = [NASBench101(path, 7).query(CellSpec(**spec))["validation_accuracy"] for _ in range(2)]
    assert draws[0] == draws[1] == NASBench101(path, seed=7).query(CellSpec(**spec))["validation_accuracy"]



def test_the_mean_over_repeats_is_none_where_a_repeat_lacks_the_metric(tmp_path):
    """mean_metric (what regret is measured in) averages a cell's recorded repeats; where one of them lacks
    the metric the mean is unknown (None), not the mean of the others; a cell with fewer repeats than
    another is averaged over its own."""
    path = tmp_path / "cells.jsonl"
    path.write_text(_row(SPECS[1], **{"108": [{"validation_accuracy": 0.5}, {"validation_accuracy": None},
                                              {"validation_accuracy": 0.75}]}) + "\n"
                    + _row(SPECS[2], **{"108": [{"validation_accuracy": 0.5}, {"validation_accuracy": 0.75}]}) + "\n")
    nb = NASBench101(path, seed=0)
    assert nb.mean_metric(SPECS[1].hash) is None
    assert nb.mean_metric(SPECS[2].hash) == 0.625

def test_hashes_with_a_budget(tmp_path):
    """The cells a query at a budget always answers with a metric: a cell with a repeat that lacks it, or
    with no run at that budget, is left out (a search never proposes a cell it cannot score)."""
    path = tmp_path / "cells.jsonl"
    path.write_text("\n".join([
        _row(SPECS[0], **{"108": {"validation_accuracy": 0.5}, "4": {"validation_accuracy": 0.1}}),
        _row(SPECS[1], **{"108": [{"validation_accuracy": 0.6}, {"training_time": 9.0}]}),
        _row(SPECS[2], **{"4": {"validation_accuracy": 0.2}}),
        _row(SPECS[3], **{"108": [{"validation_accuracy": 0.7}, {"validation_accuracy": 0.8}]})]) + "\n")
    nb = NASBench101(path)
    assert nb.hashes_with(108) == [SPECS[0].hash, SPECS[3].hash]
    assert nb.hashes_with(4) == [SPECS[0].hash, SPECS[2].hash]
    assert nb.hashes_with(108, "training_time") == [] and nb.hashes_with(36) == []


@pytest.mark.parametrize("matrix, ops, metrics, needle", [
    ([[0, 0], [0, 0]], [INPUT, OUTPUT], {"108": {"validation_accuracy": 0.5}}, "not every vertex lies on a path"),
    ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT], {"108": {"validation_accuracy": 0.5}},
     "not every vertex lies on a path"),                                    # not pruned
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [OUTPUT, CONV3X3, INPUT], {"108": {"validation_accuracy": 0.5}},
     "its first vertex is not the input"),
    ([[0, 1, 0], [0, 0, 1], [0, 1, 0]], [INPUT, CONV3X3, OUTPUT], {"108": {"validation_accuracy": 0.5}},
     "its matrix is not strictly upper-triangular"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT], {"108": {"validation_accuracy": 7.0}},
     "an accuracy outside [0, 1]"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT], {"108": {"training_time": -3.0}},
     "a negative training time"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT], {"-4": {"validation_accuracy": 0.5}},
     "a training budget of 0 or fewer epochs"),
    # found missing by a mutation audit (mut-data): each bound, not only the one side tested above
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT], {"0": {"validation_accuracy": 0.5}},
     "a training budget of 0 or fewer epochs"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT], {"108": {"test_accuracy": 1.5}},
     "an accuracy outside [0, 1]"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT], {"108": {"halfway_training_time": -3.0}},
     "a negative training time"),
    ([[0, 1, 1, 1, 1, 1, 0]] + np.eye(7, k=1, dtype=int)[1:].tolist(),     # a 7-chain plus 4 skips: 10 edges
     [INPUT] + [CONV3X3] * 5 + [OUTPUT], {"108": {"validation_accuracy": 0.5}}, "more than 9 edges"),
])
def test_a_row_outside_the_space_is_refused_naming_the_cell(tmp_path, matrix, ops, metrics, needle):
    path = tmp_path / "cells.jsonl"
    bad = {"hash": "f" * 32, "matrix": matrix, "ops": ops, "trainable_parameters": 5, "metrics": metrics}
    path.write_text(_row(SPECS[1], **{"108": {"validation_accuracy": 0.5}}) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=f"cells.jsonl: cell f{{32}}: {re.escape(needle)}"):
        NASBench101(path)


@pytest.mark.parametrize("params", [0, -7])
def test_a_parameter_count_that_is_not_positive_is_refused(tmp_path, params):
    """-1 (or leaving the key out) means "not recorded"; 0 or another negative count is a broken row."""
    path = tmp_path / "cells.jsonl"
    bad = json.loads(_row(SPECS[2], **{"108": {"validation_accuracy": 0.5}}))
    path.write_text(_row(SPECS[1], **{"108": {"validation_accuracy": 0.5}}) + "\n"
                    + json.dumps({**bad, "trainable_parameters": params}) + "\n")
    with pytest.raises(DataError, match=f"cell {SPECS[2].hash}: a trainable parameter count that is not positive"):
        NASBench101(path)
    path.write_text(json.dumps({**bad, "trainable_parameters": -1}) + "\n")
    assert len(NASBench101(path)) == 1


def test_a_value_of_the_wrong_type_is_refused(tmp_path):
    """A fractional parameter count was cut to an integer, a boolean read as a number."""
    path = tmp_path / "cells.jsonl"
    one = _row(SPECS[1], **{"108": {"validation_accuracy": 0.5}})
    two = _row(SPECS[2], **{"108": {"validation_accuracy": 0.6}})
    for edit, needle in (({"trainable_parameters": 1.5}, "trainable_parameters 1.5 is not a whole number"),
                         ({"trainable_parameters": True}, "trainable_parameters True is not a whole number"),
                         ({"metrics": {"108": {"validation_accuracy": True}}}, "validation_accuracy is True")):
        path.write_text(one + "\n" + json.dumps({**json.loads(two), **edit}) + "\n")
        with pytest.raises(DataError, match=f"cells.jsonl: line 2 .*{re.escape(needle)}"):
            NASBench101(path)
    path.write_text(one + "\n" + json.dumps({**json.loads(two), "trainable_parameters": 7.0}) + "\n")
    assert NASBench101(path).get_metrics_from_hash(SPECS[2].hash)[0]["trainable_parameters"] == 7


def test_jsonl_errors(tmp_path):
    path = tmp_path / "cells.jsonl"
    path.write_text(_row(SPECS[1], **{"108": {"validation_accuracy": 0.5}}) + "\n{not json}\n")
    with pytest.raises(DataError, match="cells.jsonl: line 2 is not a NASBench-101 cell row"):
        read_jsonl(path)
    path.write_text('{"hash": "x"}\n')
    with pytest.raises(DataError, match="line 1"):
        read_jsonl(path)
    path.write_text(_row(SPECS[1], **{"108": {"validation_accuracy": "high"}}) + "\n")
    with pytest.raises(DataError, match="line 1"):
        read_jsonl(path)
    for bad in ("NaN", "Infinity"):          # Python's JSON reader takes these; not read as "not recorded"
        path.write_text(_row(SPECS[1], **{"108": {"validation_accuracy": 0.5}}) + "\n"
                        + _row(SPECS[2], **{"108": {"validation_accuracy": 0.5}}).replace("0.5", bad) + "\n")
        with pytest.raises(DataError, match=f"line 2 .*final_validation_accuracy is {bad.lower()[:3]}.*: a metric is "
                                            f"a finite number, or null"):
            read_jsonl(path)
    import gzip
    gz = tmp_path / "cells.jsonl.gz"
    gz.write_bytes(gzip.compress((_row(SPECS[1], **{"108": {"validation_accuracy": 0.5}}) + "\n").encode() * 50)[:-30])
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_jsonl(gz)


def test_a_number_out_of_range_or_not_finite_is_one_clear_error_in_every_format(tmp_path):
    """Found by a bug hunt (2026-12-07): a budget or parameter count past 64 bits, or a metric of 1e400,
    was a traceback (OverflowError); an official record's NaN metric was read as "not recorded" and an
    infinite training time accepted (the JSON Lines reader refuses both)."""
    big = "100000000000000000000"
    good = _row(SPECS[1], **{"108": {"validation_accuracy": 0.5}})
    path = tmp_path / "cells.jsonl"
    for bad, needle in ((good.replace('"108"', f'"{big}"'), "OverflowError"),
                        (good.replace('"trainable_parameters": 5', f'"trainable_parameters": {big}'),
                         f"trainable_parameters {big} is out of range"),
                        (good.replace("0.5", "1" + "0" * 400), "OverflowError")):
        path.write_text(bad + "\n")
        with pytest.raises(DataError, match=f"cells.jsonl: line 1 is not a NASBench-101 cell row.*{needle}"):
            read_jsonl(path)
    spec = SPECS[1]

    def record(epochs=108, params=5, **final):
        return encode_record(spec.hash, epochs, spec.matrix, spec.ops, trainable_parameters=params, halfway={},
                             final={"validation_accuracy": 0.5, "training_time": 10.0, **final})

    official = tmp_path / "bad.tfrecord"
    for data, needle in ((record(validation_accuracy=float("nan")), "validation_accuracy is nan: a metric is a "
                                                                    "finite number"),
                         (record(training_time=float("inf")), "training_time is inf"),
                         (record().replace(b", 108, ", b", 1e400, "), "epochs inf is no whole number"),
                         (record().replace(b", 108, ", f", {big}, ".encode()), "too big")):
        write_records(official, [data], overwrite=True)
        with pytest.raises(DataError, match=f"bad.tfrecord: record at byte offset 0 is not a NASBench-101 row.*"
                                            f"{needle}"):
            read_official(official)
    builder = TableBuilder()                      # a table made in memory is checked as a file's is
    builder.add_run(builder.add_cell(spec.hash, spec.matrix.tolist(), spec.ops, 5), 108, [None] * 4,
                    [float("inf"), 1.0, 0.5, None])
    with pytest.raises(DataError, match="an infinite metric"):
        NASBench101.from_table(builder.build())


def test_builder_rejects_wrong_run_length():
    b = TableBuilder()
    idx = b.add_cell(SPECS[0].hash, [[0, 1], [0, 0]], [INPUT, OUTPUT], None)
    with pytest.raises(ValueError, match="4 halfway and 4 final"):
        b.add_run(idx, 108, [None] * 4, [0.5])
    assert len(b) == 1 and b.add_cell(SPECS[0].hash, "0100", [INPUT, OUTPUT], 7) == idx   # a further record
    with pytest.raises(ValueError, match="not those of the hash's first record"):
        b.add_cell(SPECS[0].hash, "0000", [INPUT, OUTPUT], None)


# -- the real data from ../shared ------------------------------------------------------------------

@pytest.fixture(scope="module")
def subset() -> NASBench101:
    return NASBench101(shared_file(SUBSET), seed=0)


def test_real_subset(subset):
    assert len(subset) == 20001 and subset.valid_epochs == {4, 12, 36, 108} and subset.format == "jsonl"
    info = subset.info()
    assert info["fields"] == ["module_adjacency", "module_operations", "trainable_parameters", "training_time",
                              "validation_accuracy"]
    assert "training_time" not in info["fields_by_epochs"]["4"] and info["repeats"]["108"] == 1
    q4 = subset.query(subset.spec_of(OPTIMUM), epochs=4)
    assert q4["train_accuracy"] is None and q4["test_accuracy"] is None and q4["training_time"] is None
    q = subset.query(subset.spec_of(OPTIMUM))
    assert q["training_time"] > 0 and q["test_accuracy"] is None and q["trainable_parameters"] == 32426634
    assert subset.get_budget_counters() == (q["training_time"], 112)
    val = subset.table.metrics[:, -1, 0, 1, 2]
    best = int(np.argmax(val))
    assert subset.table.hashes[best].decode() == "096f593e0f12d65f6220bf8565b764a9"
    assert val[best] == pytest.approx(0.949119, abs=1e-6)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(subset), 40, replace=False):
        h = subset.table.hashes[i].decode()
        spec = subset.spec_of(h)
        assert CellSpec(spec.matrix, spec.ops).hash == h


def test_real_subset_compact_round_trip(subset, tmp_path):
    dst = tmp_path / "subset.nb101"
    write_compact(dst, subset.table)
    _tables_equal(subset.table, read_compact(dst))


def test_full_records_through_an_official_file(full_records, tmp_path, subset):
    cells = [(r["hash"], {"module_adjacency": r["matrix"], "module_operations": r["ops"],
                          "trainable_parameters": r["trainable_parameters"]},
              {int(e): runs for e, runs in r["metrics"].items()}) for r in full_records]
    path = tmp_path / "nasbench_full.tfrecord"
    assert write_official(path, cells) == 4 * 4 * 3
    nb = NASBench101(path, seed=0)
    assert len(nb) == 4 and nb.valid_epochs == set(BUDGETS)
    for rec in full_records:
        spec = CellSpec(rec["matrix"], rec["ops"])
        assert spec.hash == rec["hash"]
        _, computed = nb.get_metrics_from_hash(rec["hash"])
        assert computed == {int(e): runs for e, runs in rec["metrics"].items()}
        tests = {nb.query(spec)["test_accuracy"] for _ in range(40)}
        assert tests == {run["final_test_accuracy"] for run in rec["metrics"]["108"]}
        mean = float(np.mean([run["final_test_accuracy"] for run in computed[108]]))
        assert mean == pytest.approx(rec["mean_final_test_accuracy_108"], abs=1e-12)
    optimum = max(nb.hash_iterator(),
                  key=lambda h: np.mean([r["final_test_accuracy"] for r in nb.get_metrics_from_hash(h)[1][108]]))
    assert optimum == OPTIMUM
    mean = np.mean([r["final_test_accuracy"] for r in nb.get_metrics_from_hash(OPTIMUM)[1][108]])
    assert mean == pytest.approx(0.943175752957662, abs=1e-12)
    # The subset holds repeat 1 of the optimum at every budget (its README).
    for e in BUDGETS:
        sub = subset.get_metrics_from_hash(OPTIMUM)[1][e][0]["final_validation_accuracy"]
        assert sub == nb.get_metrics_from_hash(OPTIMUM)[1][e][1]["final_validation_accuracy"]


def test_import_is_light():
    code = ("import sys, alphax, alphax.nasbench, alphax.nasbench.api; "
            "print(any(m in sys.modules for m in ('torch', 'mpi4py', 'google.protobuf', 'tensorflow')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


# -- found missing by a mutation audit of the data layer (mut-data): each fails on one plausible bug --

def test_a_file_cut_inside_the_length_header_past_its_length_is_truncation(full_file):
    """A cut 9 to 11 bytes into a record's 12-byte header (the length whole, its CRC not) is a truncated
    file, like a cut inside the length itself, not a struct.error traceback."""
    data = full_file.read_bytes()
    offs = _offsets(full_file)
    for extra in (8, 10, 11):
        full_file.write_bytes(data[:offs[2] + extra])
        with pytest.raises(DataError, match=f"truncated TFRecord file: record at byte offset {offs[2]} ends inside "
                                            f"its length header \\({extra} of 12 bytes\\)"):
            read_official(full_file)


def test_metrics_with_a_character_outside_base64_are_bad_data(tmp_path):
    """A stray character in a record's base64 metrics (a corrupt copy whose CRC was recomputed, an edited
    file) is refused, not skipped over by the base64 decoder as if it were not there."""
    spec = SPECS[1]
    row = json.loads(encode_record(spec.hash, 108, spec.matrix, spec.ops, trainable_parameters=1, halfway={},
                                   final={"validation_accuracy": 0.5}))
    row[4] = row[4][:8] + "*" + row[4][8:]
    path = tmp_path / "bad.tfrecord"
    write_records(path, [json.dumps(row).encode()])
    with pytest.raises(DataError, match="bad.tfrecord: record at byte offset 0 is not a NASBench-101 row"):
        read_official(path)


def test_an_official_file_with_implausible_metrics_is_refused_like_json_lines(tmp_path):
    """load_table checks the cells and metrics of a .tfrecord as of a JSON Lines file."""
    spec = SPECS[1]
    path = tmp_path / "nasbench_only108.tfrecord"
    write_records(path, [encode_record(spec.hash, 108, spec.matrix, spec.ops, trainable_parameters=1, halfway={},
                                       final={"validation_accuracy": 1.5})])
    with pytest.raises(DataError, match=f"nasbench_only108.tfrecord: cell {spec.hash}: an accuracy outside \\[0, 1\\]"):
        NASBench101(path)


def test_an_empty_data_path_means_none_given(tmp_path, monkeypatch):
    """--data "" is no --data (the environment variable or the default folders), not the current folder."""
    target = tmp_path / "nb101_real_subset.jsonl.gz"
    target.write_bytes(b"x")
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / "nasbench_full.tfrecord").write_bytes(b"x")
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv(paths.ENV_VAR, str(target))
    assert paths.resolve_data_path("") == target


def test_a_default_folder_without_data_falls_through_to_the_next(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (second / "nasbench_only108.tfrecord").write_bytes(b"x")
    monkeypatch.setattr(paths, "default_dirs", lambda: [first, second])
    assert paths.resolve_data_path() == second / "nasbench_only108.tfrecord"


def test_repeats_keep_file_order_when_records_interleave(tmp_path):
    """A record's repeat index is its rank among the records of the same cell and budget in file order,
    however the file interleaves them (here repeat-major: every cell's repeat 0 first, then 1, then 2)."""
    cells = synthetic_cells()
    records = [encode_record(h, e, fixed["module_adjacency"], fixed["module_operations"],
                             trainable_parameters=fixed["trainable_parameters"],
                             halfway={m: runs[r]["halfway_" + m] for m in METRICS},
                             final={m: runs[r]["final_" + m] for m in METRICS})
               for r in range(3) for h, fixed, computed in cells for e, runs in computed.items()]
    path = tmp_path / "interleaved.tfrecord"
    write_records(path, records)
    nb = NASBench101(path, seed=0)
    for h, _, computed in cells:
        assert nb.get_metrics_from_hash(h)[1] == computed


def test_an_adjacency_entry_other_than_0_or_1_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "cells.jsonl"
    row = json.loads(_row(SPECS[1], **{"108": {"validation_accuracy": 0.5}}))
    row["matrix"][0][1] = 2
    path.write_text(_row(SPECS[2], **{"108": {"validation_accuracy": 0.5}}) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"cells.jsonl: line 2 .*not a V x V 0/1 matrix"):
        NASBench101(path)


def test_every_cell_of_a_small_file_has_its_hash_checked(tmp_path):
    """The hash sample covers every cell when there are fewer than HASH_SAMPLE: the last of two too."""
    path = tmp_path / "cells.jsonl"
    rows = [json.loads(_row(spec, **{"108": {"validation_accuracy": 0.5}})) for spec in SPECS[1:3]]
    rows[1]["hash"] = "ab" * 16
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=f"cell {'ab' * 16}: its stored hash is not its cell's module hash"):
        NASBench101(path)


def test_info_lists_only_the_fields_the_file_holds(tmp_path):
    """A file without parameter counts does not list trainable_parameters among its fields."""
    path = tmp_path / "cells.jsonl"
    row = json.loads(_row(SPECS[1], **{"108": {"validation_accuracy": 0.5}}))
    del row["trainable_parameters"]
    path.write_text(json.dumps(row) + "\n")
    assert NASBench101(path).info()["fields"] == ["module_adjacency", "module_operations", "validation_accuracy"]


def test_compact_preamble_header_and_array_checks(full_file, tmp_path):
    """A compact file cut inside its length field, a negative array offset, a labels array of another
    shape (same bytes, so the CRC matches) and a corrupt hashes array are each a DataError naming them."""
    dst = tmp_path / "x.nb101"
    write_compact(dst, read_official(full_file))
    good = dst.read_bytes()
    dst.write_bytes(good[:12])
    with pytest.raises(DataError, match="truncated compact file .*preamble"):
        read_compact(dst)
    for mutate, needle in ((lambda h: h["arrays"]["metrics"].update(offset=-64), "negative shape, offset or size"),
                           (lambda h: h["arrays"]["labels"].update(shape=[h["cells"] * 7]), "array labels has shape")):
        dst.write_bytes(good)
        _rewrite_header(dst, mutate)
        with pytest.raises(DataError, match=needle):
            read_compact(dst)
    (length,) = struct.unpack_from("<Q", good, 8)
    base = 16 + length + (-(16 + length) % 64)
    start = base + json.loads(good[16:16 + length])["arrays"]["hashes"]["offset"]
    bad = bytearray(good)
    bad[start + 3] ^= 0x01
    dst.write_bytes(bytes(bad))
    with pytest.raises(DataError, match=f"CRC error in array hashes at byte offset {start}"):
        read_compact(dst)


def test_max_repeats_is_per_budget(tmp_path):
    path = tmp_path / "cells.jsonl"
    path.write_text(_row(SPECS[1], **{"4": [{"validation_accuracy": 0.1}] * 3, "108": {"validation_accuracy": 0.5}})
                    + "\n")
    nb = NASBench101(path)
    assert (nb.max_repeats(108), nb.max_repeats(4), nb.max_repeats(36)) == (1, 3, 0)


def test_a_boolean_seed_is_refused(full_file):
    with pytest.raises(ConfigError, match="the query seed must be an integer >= 0"):
        NASBench101(full_file, seed=True)


def test_each_queried_cell_gets_its_own_ops(full_file):
    """Queries of cells that share their first ops (input, then another op) each return their own ops."""
    nb = NASBench101(full_file, seed=0)
    for spec in (SPECS[1], SPECS[2], SPECS[3], SPECS[0], SPECS[1]):
        q = nb.query(spec)
        assert q["module_operations"] == spec.ops and q["module_adjacency"].tolist() == spec.matrix.tolist()


def test_a_nasbench_model_spec_is_read_from_its_original_matrix_and_ops(full_file):
    """nasbench's ModelSpec keeps the cell as given in original_matrix/original_ops and the pruned one
    in matrix/ops (None when disconnected): the cell as given is checked, so a disconnected one is
    named, and an unknown op on a vertex that pruning removes is refused (the module docstring)."""
    class ModelSpec:
        def __init__(self, matrix, ops):
            spec = CellSpec(matrix, [op if op != "conv5x5" else CONV3X3 for op in ops])
            self.original_matrix, self.original_ops = np.array(matrix), list(ops)
            self.matrix, self.ops, self.valid_spec = spec.matrix, spec.ops, spec.valid_spec

    nb = NASBench101(full_file, seed=0)
    disconnected = ModelSpec([[0, 0, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    assert not nb.is_valid(disconnected)
    with pytest.raises(OutOfDomainError, match="disconnected"):
        nb.query(disconnected)
    dangling = ModelSpec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]], [INPUT, CONV3X3, "conv5x5", OUTPUT])
    assert dangling.matrix.shape == (3, 3)                # pruning removed the unknown op's vertex
    assert not nb.is_valid(dangling)
    with pytest.raises(OutOfDomainError, match="conv5x5"):
        nb.query(dangling)


# -- the full data set's costs: a table's cells in bulk, its optimum, the announced slow read -----------

def test_a_table_s_cells_in_bulk_are_the_cells_its_records_give(subset):
    """cells_with builds every cell with data at a budget at once, trusting the checks the table passed
    when it was read: each is the cell CellSpec makes of its stored matrix and ops (pruned and hashed from
    scratch), in hashes_with's order, with arrays and op lists of its own."""
    cells = subset.cells_with(108)
    assert [c.hash for c in cells] == subset.hashes_with(108) and len(cells) == 20001
    for i in np.random.default_rng(1).choice(len(cells), 300, replace=False).tolist() + [0, len(cells) - 1]:
        cell = cells[i]
        fixed, _ = subset.get_metrics_from_hash(cell.hash)
        fresh = CellSpec(fixed["module_adjacency"], fixed["module_operations"])
        assert cell.valid_spec and fresh.hash == cell.hash and fresh.ops == cell.ops == cell.original_ops
        assert cell.matrix.dtype == fresh.matrix.dtype and cell.matrix.flags.owndata
        np.testing.assert_array_equal(cell.matrix, fresh.matrix)
    assert cells[0].ops is not cells[1].ops and subset.spec_of(cells[5].hash).ops == cells[5].ops
    assert subset.cells_with(36, "training_time") == []      # the subset has no training time but at 108 epochs


def test_the_best_mean_is_the_first_best_in_file_order_and_skips_unknown_means(tmp_path, full_file):
    """best_mean, over the whole table at once, is the cell a loop over mean_metric picks: the highest mean
    over its repeats, the first in file order on a tie, never a cell whose mean is unknown."""
    path = tmp_path / "cells.jsonl"
    path.write_text("\n".join([
        _row(SPECS[0], **{"108": [{"validation_accuracy": 0.5}, {"validation_accuracy": 0.75}]}),
        _row(SPECS[1], **{"108": [{"validation_accuracy": 0.875}, {"validation_accuracy": None}]}),
        _row(SPECS[2], **{"108": [{"validation_accuracy": 0.625}], "4": {"validation_accuracy": 0.25}}),
        _row(SPECS[3], **{"108": [{"validation_accuracy": 0.25}, {"validation_accuracy": 1.0}]})]) + "\n")
    nb = NASBench101(path)
    assert nb.best_mean(108) == (SPECS[0].hash, 0.625) and nb.best_mean(4) == (SPECS[2].hash, 0.25)
    assert nb.best_mean(36) is None and nb.best_mean(108, "training_time") is None
    full = NASBench101(full_file)
    for epochs in BUDGETS:
        for metric in METRICS:
            means = [(full.mean_metric(h, epochs, metric), -k, h) for k, h in enumerate(full.hashes)]
            value, _, h = max(means)
            assert full.best_mean(epochs, metric) == (h, value)


def test_a_table_given_in_memory_is_checked_as_a_file_is():
    """from_table refuses what load_table refuses (here a cell that is not pruned): the bulk cells and the
    searches rely on every table's cells being pruned cells of the space."""
    builder = TableBuilder()
    idx = builder.add_cell("0" * 32, [[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT], 10)
    builder.add_run(idx, 108, (None,) * 4, (1.0, 0.5, 0.5, 0.5))
    with pytest.raises(DataError, match="<memory>: cell 0{32}: not every vertex lies on a path from input to output"):
        NASBench101.from_table(builder.build())


def test_a_big_official_file_is_announced_with_the_command_that_makes_it_fast(only108_file, monkeypatch, caplog):
    """Reading nasbench_full.tfrecord takes about a minute, every time: a file over SLOW_READ_BYTES is
    announced before it is read, with the convert command whose output a folder finds first, and when it
    is read. convert itself says it reads, without the advice. Small files stay quiet."""
    from alphax.cli import main
    from alphax.nasbench import formats

    only108_file = only108_file.rename(only108_file.with_name("my copy.tfrecord"))   # no short-file warning
    with caplog.at_level("INFO", logger="alphax.nasbench.formats"):
        NASBench101(only108_file)
    assert caplog.text == ""
    monkeypatch.setattr(formats, "SLOW_READ_BYTES", only108_file.stat().st_size)
    with caplog.at_level("INFO", logger="alphax.nasbench.formats"):
        NASBench101(only108_file)
    compact = only108_file.parent / paths.COMPACT_NAME
    command = f"alphax nasbench convert '{only108_file}' -o {compact}"
    assert f"reading {only108_file} (0.0 GB in NASBench-101's official format" in caplog.text
    assert command in caplog.text and f"read 4 cells from {only108_file} (tfrecord) in " in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="alphax.nasbench.formats"):
        assert main(shlex.split(command)[1:]) == 0
    assert f"reading {only108_file}" in caplog.text and "convert" not in caplog.text
    assert paths.resolve_data_path(only108_file.parent) == compact
