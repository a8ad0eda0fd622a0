"""CIFAR-10 from its standard python batch files (the ``cifar-10-batches-py`` folder), with numpy only.

NASBench-101's split (nasbench ``lib/cifar.py``; paper section 2.3): the first 40,000 training images
train, the last 10,000 are the validation set, the 10,000 ``test_batch`` images are the test set.
Augmentation is done on tensors, on the training device: pad 4 pixels with zeros, random 32x32 crop,
random horizontal flip, then per-channel normalization by NASBench's ``RGB_MEAN``/``RGB_STD``.
No download and no torchvision: a missing or malformed folder is a :class:`~alphax.errors.DataError`.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from alphax.errors import DataError

__all__ = ["TRAIN_FILES", "TEST_FILE", "VALIDATION_SIZE", "RGB_MEAN", "RGB_STD", "Split", "Cifar10", "load_cifar10",
           "read_batch", "write_batch", "write_synthetic", "augment", "normalize", "batches"]

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
VALIDATION_SIZE = 10_000
"""The validation set: the last this many training images (NASBench-101)."""
RGB_MEAN = (125.31, 122.95, 113.87)
"""Per-channel mean of CIFAR-10 pixels in 0..255 (nasbench ``lib/cifar.py``)."""
RGB_STD = (62.99, 62.09, 66.70)
"""Per-channel standard deviation of CIFAR-10 pixels in 0..255 (nasbench ``lib/cifar.py``)."""
_HINT = ("give --cifar the extracted 'cifar-10-batches-py' folder of "
         "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (data_batch_1..5 and test_batch)")


@dataclass(frozen=True)
class Split:
    """Images ``(N, 3, 32, 32)`` uint8 and labels ``(N,)`` int64."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Cifar10:
    train: Split
    valid: Split
    test: Split

    @functools.cached_property
    def digest(self) -> str:
        """``TRAIN+VALID+TEST:md5`` of the images and labels of every split, in order (16 hex digits; 0.3 s
        for the whole data set): which data trained a result, the same for the same files wherever they
        are, so that the clients of a farm, and a resumed run, are known to train on the data the run did."""
        md5 = hashlib.md5()
        for split in (self.train, self.valid, self.test):
            md5.update(np.ascontiguousarray(split.images, dtype=np.uint8).tobytes())
            md5.update(np.ascontiguousarray(split.labels, dtype=np.int64).tobytes())
        return f"{len(self.train)}+{len(self.valid)}+{len(self.test)}:{md5.hexdigest()[:16]}"


_BATCH_CLASSES = {(module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
                  for name in ("_reconstruct", "scalar")} | {
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"), ("_codecs", "encode"), ("builtins", "bytes"), ("__builtin__", "bytes")}
"""What a CIFAR-10 python batch file's pickle may build besides dicts, lists, numbers and bytes: numpy
arrays (as Python 2's cPickle and Python 3 write them) and Python 3's bytes at protocol 2 (an empty
array's: ``bytes()``)."""


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only :data:`_BATCH_CLASSES`: a file that names anything else (a pickle that would run a
    command, or another program's objects) is refused before it is built."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _BATCH_CLASSES:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a batch file never holds")
        return super().find_class(module, name)


def read_batch(path: Path) -> Split:
    """One python batch file: a pickled dict with ``data`` (N x 3072 uint8, channel-major) and ``labels``,
    unpickled with only numpy's array classes allowed."""
    try:
        with open(path, "rb") as f:
            obj = _BatchUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise DataError(f"CIFAR-10 batch file {path} is missing; {_HINT}") from None
    except OSError:
        raise                                  # unreadable (permissions, a folder): the CLI's one line says so
    except Exception as exc:                   # garbage can fail any way: a huge memo, a bad codec name, ...
        raise DataError(f"{path} is not a CIFAR-10 python batch file ({type(exc).__name__}: {exc}); "
                        f"{_HINT}") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path} is not a CIFAR-10 python batch file (a {type(obj).__name__}, not a dict); {_HINT}")
    data = obj.get(b"data", obj.get("data"))
    labels = obj.get(b"labels", obj.get("labels"))
    if data is None or labels is None:
        raise DataError(f"{path} has no 'data'/'labels' entries; {_HINT}")
    try:
        data, labels = np.asarray(data), np.asarray(labels)
    except (ValueError, TypeError, OverflowError) as exc:      # ragged lists and the like
        raise DataError(f"{path}: unreadable 'data'/'labels' ({exc}); {_HINT}") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{path}: 'data' must be an N x 3072 uint8 array, got {data.dtype} {data.shape}; {_HINT}")
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise DataError(f"{path}: 'labels' must be a list of integers 0..9, got {labels.dtype} {labels.shape}; "
                        f"{_HINT}")
    labels = labels.astype(np.int64)
    if labels.shape != (data.shape[0],):
        raise DataError(f"{path}: {labels.size} labels for {data.shape[0]} images; {_HINT}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: labels must lie in 0..9, got {labels.min()}..{labels.max()}; {_HINT}")
    return Split(data.reshape(-1, 3, 32, 32), labels)


def write_batch(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write ``images`` ``(N, 3, 32, 32)`` uint8 and ``labels`` in the python batch format."""
    obj = {b"batch_label": path.name.encode(), b"labels": [int(v) for v in labels],
           b"data": np.ascontiguousarray(images, dtype=np.uint8).reshape(len(images), 3 * 32 * 32),
           b"filenames": [f"{i}.png".encode() for i in range(len(images))]}
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def check_cifar10_folder(folder: str | Path) -> Path:
    """``folder`` if it holds the six batch files (without reading them); a :class:`DataError` saying
    what is missing otherwise."""
    folder = Path(folder)
    if folder.is_file():
        raise DataError(f"--cifar {folder} is a file, not the folder of the batch files; {_HINT}")
    if not folder.is_dir():
        raise DataError(f"CIFAR-10 folder {folder} does not exist; {_HINT}")
    missing = [n for n in TRAIN_FILES + (TEST_FILE,) if not (folder / n).is_file()]
    if missing:
        raise DataError(f"CIFAR-10 folder {folder} lacks {', '.join(missing)}; {_HINT}")
    return folder


def load_cifar10(folder: str | Path, *, validation_size: int = VALIDATION_SIZE) -> Cifar10:
    """The three splits of the ``cifar-10-batches-py`` folder; the last ``validation_size`` training
    images are the validation set."""
    folder = check_cifar10_folder(folder)
    parts = [read_batch(folder / n) for n in TRAIN_FILES]
    images = np.concatenate([p.images for p in parts])
    labels = np.concatenate([p.labels for p in parts])
    if not 0 < validation_size < len(labels):
        raise DataError(f"--validation-size {validation_size} must be between 1 and {len(labels) - 1} (the "
                        f"{len(labels)} training images of {folder} less one); give a smaller one, or --cifar a "
                        f"folder with more images (a resumed run keeps its own --validation-size)")
    test = read_batch(folder / TEST_FILE)
    if not len(test):
        raise DataError(f"{folder / TEST_FILE} holds no images; {_HINT}")
    cut = len(labels) - validation_size
    return Cifar10(train=Split(images[:cut], labels[:cut]), valid=Split(images[cut:], labels[cut:]), test=test)


def augment(images: torch.Tensor, generator: torch.Generator, *, pad: int = 4) -> torch.Tensor:
    """NASBench's training augmentation of a batch ``(N, C, H, W)``: zero-pad ``pad`` pixels, random
    crop back to ``H x W``, random horizontal flip (probability 1/2). Same dtype and device."""
    n, c, h, w = images.shape
    dev = images.device
    padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n, 1, 1, 1), device=dev, generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n, 1, 1, 1), device=dev, generator=generator)
    flip = torch.rand((n, 1, 1, 1), device=dev, generator=generator) < 0.5
    rows = dy + torch.arange(h, device=dev).view(1, 1, h, 1)
    cols = torch.arange(w, device=dev).view(1, 1, 1, w)
    cols = dx + torch.where(flip, w - 1 - cols, cols)
    idx_n = torch.arange(n, device=dev).view(n, 1, 1, 1)
    idx_c = torch.arange(c, device=dev).view(1, c, 1, 1)
    return padded[idx_n, idx_c, rows, cols]


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 (or float in 0..255) ``(N, 3, H, W)`` to float32 standardized by ``RGB_MEAN``/``RGB_STD``."""
    mean = torch.tensor(RGB_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(RGB_STD, device=images.device).view(1, 3, 1, 1)
    return (images.float() - mean) / std


def batches(images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Evaluation batches: normalized float images and labels in order, every image once."""
    for start in range(0, len(labels), batch_size):
        yield normalize(images[start:start + batch_size]), labels[start:start + batch_size]


def training_stream(images: torch.Tensor, labels: torch.Tensor, batch_size: int, *,
                    generator: torch.Generator | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless augmented, normalized training batches, as NASBench-101's input pipeline
    (``shuffle``, ``repeat``, ``batch(drop_remainder=True)``): each epoch is a fresh permutation, and a
    batch may span two epochs, so no image is left out of an epoch. Tensors already on the device."""
    n = len(labels)
    if n < batch_size:
        raise DataError(f"{n} training images are fewer than one batch of {batch_size}")
    order = torch.empty(0, dtype=torch.int64, device=images.device)
    while True:
        if len(order) < batch_size:
            order = torch.cat([order, torch.randperm(n, device=images.device, generator=generator)])
        sel, order = order[:batch_size], order[batch_size:]
        yield normalize(augment(images[sel], generator)), labels[sel]


def write_synthetic(folder: str | Path, *, per_batch: int = 60, test: int = 100, seed: int = 0) -> Path:
    """A small folder in the ``cifar-10-batches-py`` format (for tests and benchmarks): random images
    whose class shifts the brightness of one colour channel, so that a network can learn it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 96, (n, 3, 32, 32))
        images[np.arange(n), labels % 3] += 16 * labels[:, None, None]
        return images.astype(np.uint8), labels

    for name in TRAIN_FILES:
        write_batch(folder / name, *draw(per_batch))
    write_batch(folder / TEST_FILE, *draw(test))
    return folder
