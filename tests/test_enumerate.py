"""Enumeration of the NASBench-101 space: the exact count, NASBench-101's representatives, the cache."""

import time

import numpy as np
import pytest

from alphax import enumerate as en
from alphax.errors import DataError
from alphax.spec import CellSpec, is_valid


@pytest.fixture(scope="module")
def enumeration(enumeration_cache):
    return enumeration_cache


def test_count_is_exactly_423624(enumeration):
    e, _ = enumeration
    assert len(e) == en.NUM_CELLS == 423_624
    assert len(set(e.hashes.tolist())) == 423_624
    # vertex-count profile of NASBench-101's generator
    counts = np.bincount(e.num_vertices, minlength=8)[2:].tolist()
    assert counts == [1, 6, 84, 2441, 62010, 359082]


def test_representatives_are_nasbench_stored_specs(enumeration, subset_rows):
    e, _ = enumeration
    index = {h: i for i, h in enumerate(e.hashes.tolist())}
    for row in subset_rows:
        spec = e.spec(index[row["hash"].encode()])
        assert spec.matrix.tolist() == row["matrix"] and spec.ops == row["ops"]


def test_sampled_cells_are_valid_and_hash_to_their_key(enumeration):
    e, _ = enumeration
    rng = np.random.default_rng(1)
    m = e.matrices
    for i in rng.choice(len(e), 300, replace=False):
        spec = e.spec(int(i))
        v = int(e.num_vertices[i])
        assert is_valid(spec) and spec.num_vertices == v
        assert spec.hash == e.hash(int(i))
        assert np.array_equal(m[i, :v, :v], spec.matrix)


def test_cache_reloads_fast_and_a_corrupt_cache_is_rebuilt(enumeration, tmp_path):
    e, cache = enumeration
    t0 = time.perf_counter()
    again = en.load_enumeration(cache)
    assert time.perf_counter() - t0 < 5  # the target (< 1 s) is measured in benchmarks/
    assert np.array_equal(again.hashes, e.hashes)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="unreadable"):
        en._read_cache(bad)
    bad.write_bytes(cache.read_bytes()[:1000])            # a cache cut short (a full disk, a killed write)
    with pytest.raises(DataError, match="unreadable"):
        en._read_cache(bad)
    short = tmp_path / "short.npz"
    np.savez(short, hashes=e.hashes[:10], bits=e.bits[:10], num_vertices=e.num_vertices[:10], labels=e.labels[:10])
    with pytest.raises(DataError, match="expected 423624"):
        en._read_cache(short)


def test_default_cache_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ALPHAX_CACHE_DIR", str(tmp_path))
    assert en.default_cache_path().parent == tmp_path
    monkeypatch.delenv("ALPHAX_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert en.default_cache_path().parent == tmp_path / "xdg" / "alphax"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset in ("", None):                         # empty is unset, as the XDG spec says
        if unset is None:
            monkeypatch.delenv("XDG_CACHE_HOME")
        else:
            monkeypatch.setenv("XDG_CACHE_HOME", unset)
        assert en.default_cache_path().parent == tmp_path / "home" / ".cache" / "alphax"


def test_without_a_home_the_space_is_enumerated_uncached_with_a_warning(monkeypatch, tmp_path, caplog):
    """A container run under a bare uid ($HOME unset, no user record): Path.home() raises RuntimeError. Not
    a traceback: XDG_CACHE_HOME is used if set, else the space is enumerated without a cache, saying how to
    keep one."""
    from pathlib import Path

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    monkeypatch.delenv("ALPHAX_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert en.default_cache_path().parent == tmp_path / "alphax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert en.default_cache_path() is None
    computed = object()
    monkeypatch.setattr(en, "_enumerated", lambda workers: computed)
    assert en.load_enumeration() is computed
    assert "set ALPHAX_CACHE_DIR to a folder of yours" in caplog.text and not any(tmp_path.iterdir())


def test_small_walk_matches_brute_force_isomorphism_classes():
    """For 5 vertices, the integer refinement gives as many classes as the MD5 hash itself."""
    dags = en._full_dags(5)
    fp, labelings = en._fingerprints(5, dags)
    from alphax import graph
    md5 = {graph.hash_module(graph.matrix_from_bits(int(b), 5), [int(x) for x in lab])
           for b in dags for lab in labelings}
    assert len(np.unique(fp)) == len(md5) == 2441


def test_spec_roundtrip_through_cellspec(enumeration):
    e, _ = enumeration
    spec = e.spec(len(e) - 1)
    assert CellSpec(spec.matrix, spec.ops).hash == e.hash(len(e) - 1)


def test_a_damaged_cache_is_recomputed_and_replaced(enumeration, tmp_path, monkeypatch, caplog):
    e, _ = enumeration
    calls = []
    monkeypatch.setattr(en, "enumerate_cells", lambda workers=None: calls.append(workers) or e)
    cache = tmp_path / "cells.npz"
    np.savez(cache, hashes=e.hashes[:10], bits=e.bits[:10], num_vertices=e.num_vertices[:10], labels=e.labels[:10])
    got = en.load_enumeration(cache)
    assert calls == [None] and len(got) == en.NUM_CELLS
    assert "recomputing" in caplog.text
    assert np.array_equal(en._read_cache(cache).hashes, e.hashes)     # the bad file was replaced



def test_two_processes_at_once_enumerate_once_and_the_second_reads_the_first_s_cache(enumeration, tmp_path,
                                                                                        monkeypatch):
    """Two loads of a missing cache at once (two searches starting, two test workers): the first enumerates
    under the cache's lock, the second waits on it and reads the file the first wrote. (Two threads here:
    an flock taken through another open file conflicts within one process too.)"""
    import threading
    import time

    e, _ = enumeration
    calls = []

    def slow(workers=None):
        calls.append(workers)
        time.sleep(0.5)                  # long enough for the other thread to reach the lock
        return e

    monkeypatch.setattr(en, "enumerate_cells", slow)
    cache = tmp_path / "cells.npz"
    got = [None, None]
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, en.load_enumeration(cache))) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert calls == [None] and all(g is not None and np.array_equal(g.hashes, e.hashes) for g in got)
    assert np.array_equal(en._read_cache(cache).hashes, e.hashes)

@pytest.mark.parametrize("content", [b"not a zip file", b'{"precious": true}'])
def test_a_file_that_is_not_a_cache_is_never_overwritten(enumeration, tmp_path, monkeypatch, content):
    e, _ = enumeration
    monkeypatch.setattr(en, "enumerate_cells", lambda workers=None: pytest.fail("enumerated over a user's file"))
    cache = tmp_path / "p.json"
    cache.write_bytes(content)
    with pytest.raises(DataError, match="is not an AlphaX enumeration cache; give --cache another file"):
        en.load_enumeration(cache)
    assert cache.read_bytes() == content
    with pytest.raises(DataError, match="is a folder; give a file path"):
        en.load_enumeration(tmp_path)


def test_an_enumeration_with_the_wrong_count_is_an_error_and_not_cached(enumeration, tmp_path, monkeypatch):
    e, _ = enumeration
    short = en.Enumeration(hashes=e.hashes[:5], bits=e.bits[:5], num_vertices=e.num_vertices[:5],
                           labels=e.labels[:5])
    monkeypatch.setattr(en, "enumerate_cells", lambda workers=None: short)
    cache = tmp_path / "cells.npz"
    with pytest.raises(DataError, match="enumeration found 5 unique cells, expected 423624"):
        en.load_enumeration(cache)
    assert not cache.exists()


def test_cells_in_bulk_are_the_stored_cells(enumeration):
    """``Enumeration.cells`` (a training search's pool) builds what ``spec`` builds, checks and hash
    included, without redoing them."""
    e, _ = enumeration
    idx = np.random.default_rng(2).choice(len(e), 300, replace=False)
    for i, cell in zip(idx, e.cells(idx)):
        spec = e.spec(int(i))
        assert cell.matrix.dtype == spec.matrix.dtype and np.array_equal(cell.matrix, spec.matrix)
        assert cell.ops == spec.ops and cell.hash == spec.hash == e.hash(int(i)) and is_valid(cell)
        assert np.array_equal(cell.original_matrix, spec.original_matrix) and cell == spec


def test_the_space_lists_its_cells_or_a_seeded_sample(enumeration):
    from alphax.spaces import NASBench101Space

    e, _ = enumeration
    space = NASBench101Space()
    every = space.all_cells()
    assert len(every) == 423_624 and [c.hash for c in every[:5]] == [e.hash(i) for i in range(5)]
    sample = space.all_cells(50, seed=3)
    order = {h: i for i, h in enumerate(e.hashes.tolist())}
    positions = [order[c.hash.encode()] for c in sample]
    assert len(set(positions)) == 50 and positions == sorted(positions)      # distinct, in the enumeration's order
    assert [c.hash for c in space.all_cells(50, seed=3)] == [c.hash for c in sample]
    assert [c.hash for c in space.all_cells(50, seed=4)] != [c.hash for c in sample]


def test_cells_come_in_nasbench_s_generation_order(enumeration):
    """Vertex counts 2..7, then adjacency bit patterns increasing, then labelings in itertools.product
    order: the first labelled graph met for a hash is its representative, and the cells keep that order
    (not the order of their fingerprints)."""
    e, _ = enumeration
    v = e.num_vertices.astype(np.int64)
    inner = np.where(np.arange(1, 6)[None, :] < v[:, None] - 1, e.labels[:, 1:6].astype(np.int64), 0)
    code = (inner * 3 ** np.arange(4, -1, -1)[None, :]).sum(axis=1)    # product order: the first op varies slowest
    key = np.stack([v, e.bits.astype(np.int64), code], axis=1)
    order = np.lexsort(key.T[::-1])
    assert np.array_equal(order, np.arange(len(e)))
    assert all((a < b) for a, b in zip(map(tuple, key[:2000].tolist()), map(tuple, key[1:2001].tolist())))


def test_cells_in_bulk_redo_no_checks_pruning_or_hashing(monkeypatch):
    """``Enumeration.cells`` builds the stored cells as they are (``CellSpec.trusted``, about 3 s for the
    whole space): no structure check, no pruning, no hashing (six times slower when redone)."""
    from alphax import graph, spec as spec_module

    stored = [CellSpec(np.array([[0, 1], [0, 0]]), ["input", "output"]),
              CellSpec(np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]]), ["input", "maxpool3x3", "output"]),
              CellSpec(np.array([[0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]]),
                       ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "output"])]
    labels = np.full((len(stored), 7), en._PAD, np.int8)
    for row, c in enumerate(stored):
        labels[row, :c.num_vertices] = c.labels
    bits = [sum(1 << graph.edge_bit(s, d) for d in range(c.num_vertices) for s in range(d) if c.matrix[s, d])
            for c in stored]
    e = en.Enumeration(np.array([c.hash for c in stored], dtype="S32"), np.array(bits, np.int32),
                       np.array([c.num_vertices for c in stored], np.int8), labels)

    def redone(*args, **kwargs):
        raise AssertionError("a stored cell was checked, pruned or hashed again")

    for name in ("prune", "hash_module"):
        monkeypatch.setattr(graph, name, redone)
    monkeypatch.setattr(spec_module, "_check_structure", redone)
    monkeypatch.setattr(spec_module, "_module_hash", redone)
    got = e.cells()
    assert [c.hash for c in got] == [c.hash for c in stored]
    assert all(np.array_equal(a.matrix, b.matrix) and a.ops == b.ops for a, b in zip(got, stored))
    assert [c.hash for c in e.cells(np.array([2, 0]))] == [stored[2].hash, stored[0].hash]
