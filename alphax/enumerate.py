"""Enumeration of every unique valid NASBench-101 cell (exactly 423,624), cached on disk.

Each cell is represented as NASBench-101 stores it: its graph generator walks vertex counts 2..7, then
adjacency bit patterns in increasing order (bit ``src + dst*(dst-1)/2`` is edge ``src -> dst``), keeping
only graphs whose every vertex is on an input-output path and with at most 9 edges, then labelings in
``itertools.product`` order; the first (matrix, labeling) met for a module hash is the representative.

Hashing 1.29 million labelled graphs with MD5 in Python would take minutes, so the walk is done with a
vectorised integer version of the same Weisfeiler-Lehman refinement (64-bit mixing instead of MD5): two
labelled graphs get the same integer fingerprint exactly when they get the same module hash (barring a
64-bit collision, which the exact count 423,624 and the tests would expose). The MD5 module hash is then
computed once per unique cell, in parallel.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alphax import graph
from alphax.atomic import existing_ancestor, write_atomic
from alphax.errors import DataError
from alphax.spec import INPUT, MAX_EDGES, MAX_VERTICES, OPS, OUTPUT, CellSpec

__all__ = ["NUM_CELLS", "Enumeration", "enumerate_cells", "load_enumeration", "default_cache_path"]

log = logging.getLogger(__name__)

NUM_CELLS = 423_624
"""Unique valid cells of NASBench-101 (its paper, and ``generate_graphs.py``)."""
_CACHE_VERSION = 1
_PAD = -3
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Enumeration:
    """All unique cells, in NASBench-101's generation order.

    ``hashes``: (N,) ``S32`` module hashes; ``bits``: (N,) adjacency bit patterns; ``num_vertices``: (N,);
    ``labels``: (N, 7) hash labels (-1 input, -2 output, 0/1/2 ops) padded with -3 after the output.
    """

    hashes: np.ndarray
    bits: np.ndarray
    num_vertices: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def matrices(self) -> np.ndarray:
        """(N, 7, 7) uint8 adjacency matrices, zero beyond each cell's ``num_vertices``."""
        out = np.zeros((len(self), MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
        for dst in range(1, MAX_VERTICES):
            for src in range(dst):
                out[:, src, dst] = (self.bits >> graph.edge_bit(src, dst)) & 1
        return out

    def spec(self, i: int) -> CellSpec:
        """The cell at index ``i`` as a :class:`CellSpec`."""
        v = int(self.num_vertices[i])
        matrix = graph.matrix_from_bits(int(self.bits[i]), v)
        return CellSpec(matrix, _ops_of(self.labels[i, :v]))

    def hash(self, i: int) -> str:
        return self.hashes[i].decode()

    def cells(self, indices: np.ndarray | None = None) -> list[CellSpec]:
        """The cells at ``indices`` (default: all), as :meth:`spec` gives them, built in bulk: every cell
        of the space in about 3 s (:meth:`CellSpec.trusted`; the stored cells are pruned already)."""
        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64)
        matrices = self.matrices[idx].astype(np.int64)
        counts, labels = self.num_vertices[idx].tolist(), self.labels[idx]
        hashes = self.hashes[idx]
        return [CellSpec.trusted(matrices[row, :v, :v].copy(), _ops_of(labels[row, :v]), hashes[row].decode())
                for row, v in enumerate(counts)]


def _ops_of(labels) -> list[str]:
    return [INPUT] + [OPS[int(x)] for x in labels[1:-1]] + [OUTPUT]


# -- the walk ---------------------------------------------------------------------------------------

def _full_dags(v: int) -> np.ndarray:
    """Bit patterns of ``v``-vertex full DAGs with at most 9 edges, increasing."""
    bits = np.arange(2 ** (v * (v - 1) // 2), dtype=np.int64)
    out_deg = np.zeros((v, bits.size), np.int8)
    in_deg = np.zeros((v, bits.size), np.int8)
    for dst in range(1, v):
        for src in range(dst):
            b = ((bits >> graph.edge_bit(src, dst)) & 1).astype(np.int8)
            out_deg[src] += b
            in_deg[dst] += b
    ok = (out_deg.sum(axis=0) <= MAX_EDGES) & np.all(out_deg[:-1] > 0, axis=0) & np.all(in_deg[1:] > 0, axis=0)
    return bits[ok]


def _mix(x: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 finaliser of ``x + salt`` (uint64, wrapping)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(salt)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _fingerprints(v: int, dags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer WL fingerprints of every (graph, labeling) pair, graph-major, labelings in product order.

    Returns ``(fingerprints (G*L,), labelings (L, v))``.
    """
    labelings = np.array([(-1,) + p + (-2,) for p in itertools.product(range(len(OPS)), repeat=v - 2)],
                         dtype=np.int64).reshape(-1, v)
    edges = [(s, d) for d in range(1, v) for s in range(d)]
    adj = {(s, d): ((dags >> graph.edge_bit(s, d)) & 1).astype(bool)[:, None] for s, d in edges}
    out_deg = np.zeros((dags.size, v), np.int64)
    in_deg = np.zeros((dags.size, v), np.int64)
    for (s, d), a in adj.items():
        out_deg[:, s] += a[:, 0]
        in_deg[:, d] += a[:, 0]
    # colour[g, l, x]: initial colour from (out-degree, in-degree, label), as in the MD5 hash.
    color = ((out_deg[:, None, :] * 16 + in_deg[:, None, :]) * 16 + (labelings[None, :, :] + 3)).astype(np.uint64)
    with np.errstate(over="ignore"):
        for _ in range(v):
            f_in, f_out = _mix(color, 0x1234567), _mix(color, 0x7654321)
            s_in = np.zeros_like(color)
            s_out = np.zeros_like(color)
            for (s, d), a in adj.items():
                s_in[:, :, d] += np.where(a, f_in[:, :, s], np.uint64(0))
                s_out[:, :, s] += np.where(a, f_out[:, :, d], np.uint64(0))
            color = _mix(_mix(color, 0x9E3779B9) + _mix(s_in, 0x3C6EF372) * np.uint64(3) + s_out, v)
        fp = _mix(_mix(color, 0xABCDEF).sum(axis=2), 1000 + v)
    return fp.reshape(-1), labelings


def _md5_hash(args: tuple[int, int, tuple]) -> str:
    bits, v, labels = args
    return graph.hash_module(graph.matrix_from_bits(bits, v), labels)


def enumerate_cells(*, workers: int | None = None) -> Enumeration:
    """Walk the space like NASBench-101's generator and return every unique cell (no cache)."""
    all_bits, all_v, all_labels = [], [], []
    for v in range(2, MAX_VERTICES + 1):
        dags = _full_dags(v)
        fp, labelings = _fingerprints(v, dags)
        _, first = np.unique(fp, return_index=True)
        first.sort()  # keep generation order
        g, l = np.divmod(first, len(labelings))
        padded = np.full((first.size, MAX_VERTICES), _PAD, np.int8)
        padded[:, :v] = labelings[l]
        all_bits.append(dags[g])
        all_v.append(np.full(first.size, v, np.int8))
        all_labels.append(padded)
        log.debug("%d vertices: %d graphs, %d unique cells", v, dags.size, first.size)
    bits, nv, labels = np.concatenate(all_bits), np.concatenate(all_v), np.concatenate(all_labels)
    jobs = [(int(b), int(n), tuple(int(x) for x in lab[:n])) for b, n, lab in zip(bits, nv, labels)]
    workers = workers or os.cpu_count() or 1
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            hashes = list(pool.map(_md5_hash, jobs, chunksize=4096))
    else:
        hashes = [_md5_hash(j) for j in jobs]
    return Enumeration(np.array(hashes, dtype="S32"), bits.astype(np.int32), nv, labels)


# -- the cache --------------------------------------------------------------------------------------

def default_cache_path() -> Path | None:
    """``$ALPHAX_CACHE_DIR`` or ``$XDG_CACHE_HOME/alphax`` (``~/.cache/alphax``), file per version; None
    where there is no home either (``$HOME`` unset and no user record: a container run under a bare uid)."""
    root = os.environ.get("ALPHAX_CACHE_DIR")
    if not root:
        try:
            root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "alphax"
        except RuntimeError:             # Path.home(): "Could not determine home directory."
            return None
    return Path(root) / f"nasbench101_cells_v{_CACHE_VERSION}.npz"


def _read_cache(path: Path) -> Enumeration:
    try:
        with np.load(path, allow_pickle=False) as z:
            e = Enumeration(z["hashes"], z["bits"], z["num_vertices"], z["labels"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"enumeration cache {path} is unreadable ({exc})") from None
    if len(e) != NUM_CELLS or e.labels.shape != (NUM_CELLS, MAX_VERTICES) or len(e.bits) != NUM_CELLS:
        raise DataError(f"enumeration cache {path} holds {len(e)} cells, expected {NUM_CELLS}")
    return e


def _write_cache(e: Enumeration, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda f: np.savez(f, hashes=e.hashes, bits=e.bits, num_vertices=e.num_vertices,
                                          labels=e.labels))


def _is_a_cache(path: Path) -> bool:
    """Whether ``path`` is one of our cache files, however damaged (a zip archive holding our arrays):
    only such a file is replaced."""
    try:
        with zipfile.ZipFile(path) as z:
            return "hashes.npy" in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _read_ours(path: Path, *, warn: bool = True) -> Enumeration | None:
    """The cache at ``path``; None where there is none, or where ours is unreadable or incomplete (said in a
    warning with ``warn``); any other file there is a :class:`DataError`."""
    if not path.exists():
        return None
    try:
        return _read_cache(path)
    except DataError as exc:
        if not _is_a_cache(path):
            raise DataError(f"{path} is not an AlphaX enumeration cache; give --cache another file, or "
                            f"remove it to have it recomputed there") from None
        if warn:
            log.warning("%s; recomputing it", exc)
        return None


@contextmanager
def _one_at_a_time(path: Path):
    """Held while this process enumerates into the cache ``path``, so that another one starting meanwhile
    (a second search, a test worker) waits for the file instead of enumerating too: an ``flock`` on
    ``path.lock``, dropped when the process ends however it ends. Where the lock file cannot be made or
    locked, nothing is held (the enumeration goes on alone, and its cache write says why it fails)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:                  # a file system without flock (Lustre without -o flock): alone
            pass
        yield
    finally:
        os.close(fd)                     # closing the descriptor drops the flock


def _enumerated(workers: int | None) -> Enumeration:
    e = enumerate_cells(workers=workers)
    if len(e) != NUM_CELLS:
        raise DataError(f"enumeration found {len(e)} unique cells, expected {NUM_CELLS}")
    return e


def load_enumeration(cache: str | os.PathLike | None = None, *, workers: int | None = None) -> Enumeration:
    """The enumeration from its cache file, computing and caching it on first use; one process at a time
    computes it (:func:`_one_at_a_time`), and the others read its file.

    A cache file of ours that is unreadable or incomplete is recomputed and replaced (with a warning);
    any other file at ``cache`` is a :class:`DataError` (nothing is overwritten), as is a folder.
    """
    path = Path(cache) if cache is not None else default_cache_path()
    if path is None:
        log.warning("no home folder to cache the NASBench-101 enumeration in ($HOME is unset and this user has "
                    "no record); the space is enumerated without caching it: set ALPHAX_CACHE_DIR to a folder of "
                    "yours to keep it for the next run")
        return _enumerated(workers)
    if path.is_dir():
        raise DataError(f"enumeration cache {path} is a folder; give a file path (e.g. {path / 'cells.npz'})")
    found = _read_ours(path)
    if found is not None:
        return found
    if not os.access(existing_ancestor(path), os.W_OK):
        log.warning("enumeration cache %s cannot be written (no write permission); the space is enumerated "
                    "without caching it", path)
        log.info("enumerating the NASBench-101 space")
        return _enumerated(workers)
    with _one_at_a_time(path):
        found = _read_ours(path, warn=False)        # written by another process while this one waited
        if found is not None:
            return found
        log.info("enumerating the NASBench-101 space (cached in %s for the next run)", path)
        e = _enumerated(workers)
        try:
            _write_cache(e, path)
        except OSError as exc:
            log.warning("could not write the enumeration cache %s (%s)", path, exc)
    return e
