"""Training and prediction for the meta-DNN ensemble (nanoGPT-shaped loop, CPU, float32)."""

from __future__ import annotations

import functools
import logging

import numpy as np
import torch

from meta_dnn.encoding import CellEncoder, Encoded
from meta_dnn.model import EnsembleMLP

__all__ = ["Predictor"]

log = logging.getLogger(__name__)

TARGETS = ("log_error", "raw")
_EPS = 1e-6


def _own_threads(method):
    """Run ``method`` on the predictor's ``num_threads`` torch threads (1 by default: the small MLPs are
    fastest, and same-seed runs identical, that way) and give the process its own setting back after:
    a CPU training in the same process (``--evaluator train --device cpu``) keeps every thread."""
    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        before = torch.get_num_threads()
        torch.set_num_threads(self.config["num_threads"])
        try:
            return method(self, *args, **kwargs)
        finally:
            torch.set_num_threads(before)
    return wrapped


class Predictor:
    """An :class:`EnsembleMLP` learned from the run's own results only.

    ``fit(x, y, steps=...)`` continues from the current weights (warm start); ``predict(x)`` returns the
    ensemble mean and spread, float64 ``(N,)`` each, in accuracy units.

    Targets: with ``target='log_error'`` (default) an accuracy ``a`` is learnt as ``-log(1 - a)``, which
    stretches the top of the range, where a search has to tell the best cells apart (0.94 and 0.95 are
    as far apart as 0.80 and 0.83); ``'raw'`` learns ``a`` itself. Either is standardized with a robust
    centre/scale (median, IQR) and clipped below at -``clip`` so that a few failed trainings (accuracy
    ~0.1) do not dominate the loss. Picklable: torch state travels as ``state_dict``.
    """

    def __init__(self, encoder: CellEncoder, *, seed: int, members: int = 5, hidden: int = 64,
                 lr: float = 3e-3, weight_decay: float = 1e-4, batch_size: int = 128, clip: float = 4.0,
                 num_threads: int = 1, target: str = "log_error"):
        if target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
        self.encoder = encoder
        self.target = target
        self.config = dict(members=members, hidden=hidden, lr=lr, weight_decay=weight_decay,
                           batch_size=batch_size, clip=clip, num_threads=num_threads)
        self.rng = np.random.default_rng(seed)
        self.center, self.scale = 0.0, 1.0
        self.steps_done = 0
        self._build(seed)

    def _build(self, seed: int) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = EnsembleMLP(self.encoder.dense_dim, self.encoder.num_paths,
                                     members=self.config["members"], hidden=self.config["hidden"])
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.config["lr"],
                                           weight_decay=self.config["weight_decay"])

    # -- pickling ------------------------------------------------------------------------------
    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("model", "optimizer")}
        state["model_state"] = self.model.state_dict()
        state["optimizer_state"] = self.optimizer.state_dict()
        return state

    def __setstate__(self, state: dict) -> None:
        model_state, opt_state = state.pop("model_state"), state.pop("optimizer_state")
        self.__dict__.update(state)
        self._build(0)
        self.model.load_state_dict(model_state)
        self.optimizer.load_state_dict(opt_state)

    # -- learning ------------------------------------------------------------------------------
    @_own_threads
    def fit(self, x: Encoded, y: np.ndarray, *, steps: int) -> float:
        """``steps`` AdamW steps on minibatches of ``(x, y)`` (y: accuracies, shape ``(N,)``); each member
        weights each minibatch row by its own Poisson(1) draw, redrawn every minibatch (online bagging's
        noise, not a bootstrap fixed per member: over a fit every row weighs about 1 in every member, so
        the members differ by their initialisation and these draws; a fixed bootstrap searched worse).
        Where ``x`` has ``variants``, each row of a minibatch is one of its cell's forms drawn at random
        (augmentation: the model learns that they are the same cell). Returns the last minibatch loss."""
        y = self._checked(x, y, steps)   # before anything changes: a refused fit leaves the predictor as it was
        y = self._to_target(y)
        q25, center, q75 = np.percentile(y, [25, 50, 75])
        self.center, self.scale = center, max((q75 - q25) / 1.349, 1e-4)
        z = np.maximum((y - self.center) / self.scale, -self.config["clip"])
        paths = torch.from_numpy(x.paths)
        forms = torch.from_numpy(x.dense if x.variants is None else x.variants)
        start, count = x.variant_spans()
        target = torch.from_numpy(z.astype(np.float32))
        n, m, bs = len(y), self.config["members"], self.config["batch_size"]
        self.model.train()
        loss_value = float("nan")
        for _ in range(steps):
            rows = self.rng.integers(0, n, size=min(bs, n))
            weights = torch.from_numpy(self.rng.poisson(1.0, size=(m, len(rows))).astype(np.float32))
            form = start[rows] if x.variants is None else \
                start[rows] + (self.rng.random(len(rows)) * count[rows]).astype(np.int64)
            idx = torch.from_numpy(rows)
            pred = self.model(forms[torch.from_numpy(form)], paths[idx])
            loss = (weights * (pred - target[idx]) ** 2).sum() / weights.sum().clamp_min(1.0)
            loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            loss_value = float(loss.detach())
        self.steps_done += steps
        return loss_value

    def _checked(self, x: Encoded, y, steps) -> np.ndarray:
        """``y`` as float64 after checking ``fit``'s arguments: ``steps`` a whole number >= 1, one accuracy in
        [0, 1] per row of ``x`` (a percentage would be learnt as 1, every cell alike), and ``x`` encoded by
        this predictor's encoder (another's width was a torch shape error after the targets had changed)."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"fit(x, y, steps=...): steps must be a whole number >= 1, got {steps!r}")
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1 or len(y) != len(x) or not len(y):
            raise ValueError(f"fit(x, y): y must be 1-D with one accuracy per row of x ({len(x)}), got shape "
                             f"{y.shape}")
        if not np.isfinite(y).all():      # one NaN would make every weight, and every later fit, NaN
            raise ValueError(f"fit(x, y): y holds {int((~np.isfinite(y)).sum())} non-finite accuracies; leave "
                             f"failed evaluations out")
        if ((y < 0) | (y > 1)).any():
            raise ValueError(f"fit(x, y): y holds {int(((y < 0) | (y > 1)).sum())} values outside [0, 1], e.g. "
                             f"{y[(y < 0) | (y > 1)][0]!r}; give accuracies as fractions, not percentages")
        width = (x.dense if x.variants is None else x.variants).shape[1:]
        dense = self.model.dense.in_features if self.model.dense is not None else 0
        paths = self.model.paths.num_embeddings - 1
        ids_ok = not x.paths.size or 0 <= x.paths.min() <= x.paths.max() <= paths
        if width != (dense,) or x.paths.ndim != 2 or not ids_ok:
            raise ValueError(f"fit(x, y): x was not encoded by this predictor's encoder (dense width {width}, "
                             f"paths {x.paths.shape}; the model takes {dense} dense features and {paths} paths)")
        return y

    @torch.no_grad()
    @_own_threads
    def predict_members(self, x: Encoded) -> np.ndarray:
        """Each member's predicted accuracy, float64 ``(members, N)``."""
        if not self.steps_done:
            raise RuntimeError("the predictor has not been fitted: call fit(x, y, steps=...) first")
        self.model.eval()
        out = []
        for start in range(0, len(x), 8192):
            chunk = x.take(np.arange(start, min(start + 8192, len(x))))
            out.append(self.model(torch.from_numpy(chunk.dense), torch.from_numpy(chunk.paths)))
        z = torch.cat(out, dim=1).double().numpy() if out else np.zeros((self.config["members"], 0))
        return self._from_target(self.center + self.scale * z)

    def predict(self, x: Encoded) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and standard deviation of the predicted accuracy, float64 ``(N,)`` each."""
        acc = self.predict_members(x)
        return acc.mean(axis=0), acc.std(axis=0)

    def standardize(self, acc):
        """Accuracies in the standardized units the model learns (the target transform, then the robust
        centre and scale of the last fit): the scale on which the best cells are told apart."""
        return (self._to_target(np.asarray(acc, dtype=np.float64)) - self.center) / self.scale

    def _to_target(self, acc: np.ndarray) -> np.ndarray:
        if self.target == "raw":
            return acc
        return -np.log(np.clip(1.0 - acc, _EPS, None))

    def _from_target(self, t: np.ndarray) -> np.ndarray:
        if self.target == "raw":
            return t
        return 1.0 - np.exp(-t)
