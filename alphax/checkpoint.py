"""Atomic checkpoints of a run's state (the pickled searcher, random generator included, and ``n``).

Layout in the run folder: ``checkpoint.pkl`` (latest) and ``checkpoint.prev.pkl`` (the one before).
A save writes ``checkpoint.pkl.tmp``, fsyncs it, moves the latest to ``.prev`` and renames the temp file
into place, then fsyncs the folder; a kill at any point leaves at least one complete checkpoint (or none
before the first save). A latest checkpoint found corrupt at a save is moved to ``checkpoint.pkl.corrupt``
instead of ``.prev``, so it never replaces the intact one a resume fell back to. Each file is a magic
line, the SHA-256 of the rest, a one-line JSON header (``n`` and :data:`HEADER`: :func:`checkpoint_info`)
and the pickled payload, so a truncated or altered file is detected, and its
header checked, before anything is unpickled.

``shared``: objects that the loader can provide again (a table's candidate cells, thousands of them):
they are pickled as references to their index in ``shared``, which keeps a checkpoint small and fast to
write and read; the same list, in the same order, must be given to load it.

Loading builds only :data:`STATE_CLASSES` (a pickle can call anything it names: one that names something
else is refused as it is read, before any of it runs), and is otherwise as for a damaged file. A corrupt
latest checkpoint is reported (a warning) and the previous one is used; when no intact checkpoint is
left, :class:`~alphax.errors.CheckpointError` says what to do. Nothing is ever deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import pickle
from pathlib import Path
from typing import Any, Callable, Sequence

from alphax.atomic import naming, open_in_place
from alphax.errors import CheckpointError, first_line
from alphax.searchers import external

__all__ = ["LATEST", "PREVIOUS", "STATE_CLASSES", "save_checkpoint", "load_checkpoint", "read_checkpoint",
           "checkpoint_info", "unused_path"]

log = logging.getLogger(__name__)

LATEST = "checkpoint.pkl"
PREVIOUS = "checkpoint.prev.pkl"
_MAGIC = b"ALPHAX-CHECKPOINT 1\n"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Pickler(pickle.Pickler):
    def __init__(self, file, shared: Sequence[Any]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._index = {id(obj): i for i, obj in enumerate(shared)}

    def persistent_id(self, obj: Any) -> int | None:
        return self._index.get(id(obj))


STATE_CLASSES = frozenset({
    # the run's own state: searchers, their spaces, candidate sets, tree and meta-DNN
    ("alphax.candidates", "CandidateSet"), ("alphax.mcts", "Node"), ("alphax.mcts", "Tree"),
    ("alphax.searchers.alphax", "AlphaXSearch"), ("alphax.searchers.evolution", "RegularizedEvolution"),
    ("alphax.searchers.random", "RandomSearch"), ("alphax.spaces.nasbench101", "NASBench101Space"),
    ("alphax.spaces.nasbench201", "NASBench201Space"), ("alphax.spaces.nasbench201", "NB201Cell"),
    ("alphax.spec", "CellSpec"), ("meta_dnn.encoding", "CellEncoder"), ("meta_dnn.encoding", "Encoded"),
    ("meta_dnn.train", "Predictor"), ("collections", "OrderedDict"), ("collections", "deque"),
    # numpy arrays, scalars and random generators, as numpy 2 and numpy 1 pickle them
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.random._pickle", "__generator_ctor"), ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pcg64", "PCG64"), ("numpy.random.bit_generator", "SeedSequence"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    # torch tensors (the meta-DNN's weights and optimizer state); their storage: _storage_from_bytes
    ("torch._utils", "_rebuild_tensor_v2"),
})
"""Every class and function a run's checkpoint refers to: the only ones loading one may build or call. A
checkpoint is a pickle, and a pickle that names anything else (``os.system``, another program's objects)
is refused before any of it runs, so resuming a run folder from elsewhere cannot run its code. A new kind
of object in a run's state must be added here (``tests/test_run_state.py`` checkpoints every searcher on
every space and says which). Beyond them, the classes of a searcher of your own, once the command line
has named it (:func:`alphax.searchers.external.trusted`)."""


def _storage_from_bytes(data: bytes) -> Any:
    """A tensor's storage, as ``torch.storage._load_from_bytes`` reads it, but with ``weights_only``: that
    function unpickles the bytes it is given with no restriction at all."""
    import torch

    try:
        return torch.load(io.BytesIO(data), weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch's message runs to several lines and advises the unsafe load
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
        why = next((line for line in lines if "GLOBAL" in line), lines[0])
        raise pickle.UnpicklingError(f"a tensor in it holds more than tensor data ({why.rstrip('.')}), so it "
                                     f"was not loaded") from None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, shared: Sequence[Any]):
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, int) or not 0 <= pid < len(self._shared):
            raise pickle.UnpicklingError(f"reference to shared object {pid!r} of {len(self._shared)}")
        return self._shared[pid]

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return _storage_from_bytes
        if (module, name) not in STATE_CLASSES and not external.trusted(module, name):
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which no run's state holds; a "
                                         f"checkpoint may only rebuild AlphaX's own objects (alphax.checkpoint."
                                         f"STATE_CLASSES), so it was not loaded")
        return super().find_class(module, name)


HEADER = ("time", "dispatch", "candidates", "config", "rows")
"""The entries of a state that :func:`save_checkpoint` also writes in its header (with ``n``), where the
state has them, for checks before unpickling: the candidates' fingerprint, the run's config, the digest
of the results the state was made from (``alphax.runlog.rows_digest``)."""


def save_checkpoint(folder: str | os.PathLike, state: dict, *, shared: Sequence[Any] = ()) -> Path:
    """Write ``state`` (a picklable dict) as the latest checkpoint of ``folder``; keep the previous one."""
    folder = Path(folder)
    buf = io.BytesIO()
    try:
        _Pickler(buf, shared).dump(state)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:    # a lambda, an open file, a lock
        raise CheckpointError(f"the run's state cannot be pickled for its checkpoint ({type(exc).__name__}: "
                              f"{first_line(exc)}): a searcher's attributes must pickle (no lambdas, local "
                              f"functions, open files or locks); nothing of the checkpoint was written") from None
    meta = {"n": state.get("n"), **{k: state[k] for k in HEADER if k in state}}
    body = json.dumps(meta).encode() + b"\n" + buf.getvalue()
    digest = hashlib.sha256(body).hexdigest().encode()
    tmp = folder / (LATEST + ".tmp")
    latest = folder / LATEST
    try:
        with open_in_place(tmp, "wb") as f, naming(tmp):       # (one a kill left, or a link, replaced)
            f.write(_MAGIC + digest + b"\n" + body)
            f.flush()
            os.fsync(f.fileno())
        if latest.exists():
            try:
                refused = _refused.get(str(latest))
                if refused is not None and refused[0] == _stamp(latest):    # intact, but a load refused it
                    raise CheckpointError(refused[1])
                if _written.get(str(latest)) != _stamp(latest):     # not the file this process wrote: read it
                    _verified(latest)
            except CheckpointError as exc:
                # a corrupt latest must not push out an intact previous one (the one a resume fell back
                # to): it is kept aside for inspection instead, and the previous one stays where it is
                aside = unused_path(folder / (LATEST + ".corrupt"))
                os.replace(latest, aside)
                log.warning("%s; kept as %s, %s left as it is", exc, aside.name, PREVIOUS)
            else:
                os.replace(latest, folder / PREVIOUS)
        os.replace(tmp, latest)
    except BaseException:
        # a part written to a full disk gives its space back; a whole one that could not be put in place
        # is not left behind either (the results it was made from are in results.jsonl)
        with contextlib.suppress(OSError):        # (a folder in its way stays: the error names it)
            tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    _written[str(latest)] = _stamp(latest)
    return latest


_written: dict[str, tuple] = {}
"""Per latest-checkpoint path, the stamp of the file this process last wrote there: a save checks the
file it is about to rotate only when it is not that one (about 50 ms for an 11 MB NASBench-101 file)."""

_refused: dict[str, tuple[tuple, str]] = {}
"""Per checkpoint path, the stamp of a file :func:`load_checkpoint` refused though its checksum holds (it
cannot be unpickled), and why: the next save moves it aside as it does a corrupt one, instead of
rotating it onto the intact previous checkpoint the resume fell back to."""


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def unused_path(path: Path, sep: str = ".") -> Path:
    """``path``, or ``path.2``, ``path.3``, ... (``sep`` between): the first name not taken."""
    out, i = path, 1
    while out.exists():
        i += 1
        out = path.with_name(f"{path.name}{sep}{i}")
    return out


def _verified(path: Path) -> tuple[dict, bytes]:
    """``(meta, pickled payload)`` of an intact checkpoint file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data.startswith(_MAGIC):
        raise CheckpointError(f"{path}: not an AlphaX checkpoint (bad header)")
    rest = data[len(_MAGIC):]
    digest, sep, body = rest.partition(b"\n")
    if not sep or hashlib.sha256(body).hexdigest().encode() != digest:
        raise CheckpointError(f"{path}: corrupt (checksum mismatch: truncated or altered)")
    meta, _, payload = body.partition(b"\n")
    return json.loads(meta), payload


def checkpoint_info(path: str | os.PathLike) -> dict:
    """The small JSON header of a checkpoint (``n``, ``time``, ``dispatch``; since 2026-12-04 the
    fingerprint of its ``candidates``; since 2026-12-05 its ``config`` and the digest of its ``rows``),
    checked, without unpickling."""
    return _verified(Path(path))[0]


def read_checkpoint(path: str | os.PathLike, *, shared: Sequence[Any] = ()) -> dict:
    """The state in one checkpoint file; :class:`CheckpointError` if it is missing or corrupt. ``shared``:
    the list given to :func:`save_checkpoint`."""
    path = Path(path)
    return _unpickled(path, _verified(path)[1], shared)


def _unpickled(path: Path, payload: bytes, shared: Sequence[Any]) -> dict:
    try:
        state = _Unpickler(io.BytesIO(payload), shared).load()
    except Exception as exc:  # noqa: BLE001 - an intact file that this code cannot unpickle
        raise CheckpointError(f"{path}: cannot be unpickled ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or "n" not in state:
        raise CheckpointError(f"{path}: not a run checkpoint (no 'n')")
    return state


def load_checkpoint(folder: str | os.PathLike, *, shared: Sequence[Any] = (),
                    check: Callable[[Path, dict], None] | None = None) -> tuple[dict, Path] | None:
    """``(state, path)`` of the newest intact checkpoint of ``folder``; None if it has none.

    A corrupt latest checkpoint logs a warning and falls back to the previous one; if no intact one is
    left, raises :class:`CheckpointError` with the way out (move the bad files away to replay the
    whole results log from the start). ``check(path, header)`` sees an intact file's header
    (:func:`checkpoint_info`) before it is unpickled; what it raises is no corruption, and propagates.
    """
    folder = Path(folder)
    candidates = [p for p in (folder / LATEST, folder / PREVIOUS) if p.exists()]
    if not candidates:
        return None
    errors = []
    for path in candidates:
        try:
            meta, payload = _verified(path)
        except CheckpointError as exc:
            errors.append(str(exc))
            continue
        if check is not None:
            check(path, meta)
        try:
            state = _unpickled(path, payload, shared)
        except CheckpointError as exc:
            errors.append(str(exc))
            _refused[str(path)] = (_stamp(path), str(exc))
            continue
        if errors:
            log.warning("%s; resuming from the previous checkpoint %s (n=%d) instead", errors[0], path.name,
                        state["n"])
        return state, path
    names = " ".join(str(p) for p in candidates)
    raise CheckpointError(f"{'; '.join(errors)}; no intact checkpoint is left. To resume by replaying "
                          f"results.jsonl from the start, move the bad file(s) away: "
                          f"mkdir -p {folder}/bad && mv {names} {folder}/bad/")
