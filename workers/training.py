"""Training one NASBench-101 cell on CIFAR-10 with NASBench-101's protocol: one function, nanoGPT-shaped.

Every default of :class:`TrainConfig` is NASBench-101's, checked against google-research/nasbench
(``lib/config.py``, ``lib/model_builder.py``, ``lib/base_ops.py``, ``lib/cifar.py``) and the paper
(Ying et al., "NAS-Bench-101", ICML 2019, section 2.3):

- RMSProp with momentum 0.9, epsilon 1.0 and decay 0.9 (``tf.train.RMSPropOptimizer(momentum=0.9,
  epsilon=1.0)``, TF's default decay), in TensorFlow's form: :class:`RMSPropTF`;
- learning rate 0.2 (``learning_rate`` 0.1 scaled by ``tpu_num_shards`` 2), cosine decay by step
  (``COSINE_BY_STEP``) to 0 over ``epochs * train images / batch`` steps, and 0 at step 0;
- weight decay 1e-4 as an L2 loss on every trainable variable (gradient ``1e-4 * w``);
- batch 256, 108 epochs as ``int(108 * 40,000 / 256) = 16,875`` steps over a shuffled, repeated stream
  (a batch may span two epochs), no gradient clipping;
- random crop with 4-pixel zero padding and horizontal flips; 40k train / 10k validation / 10k test;
- batch norm with decay 0.997 and epsilon 1e-5 (see :mod:`workers.network`).

A training whose loss turns non-finite or that runs out of memory is tried again from a fresh
initialisation, up to 5 attempts in all (``--train-attempts``), as the official run does; attempt k draws
with seed ``--train-seed + k - 1`` (the official retries were unseeded; the same seed would diverge again).

Where it differs from the official run, beside the precision below (none changes how the reward is
defined): there is no evaluation half-way (the tables' ``halfway_*`` values), only at the end;
validation and test accuracies count all 10,000 images (the official 39 batches of 256 count 9,984);
batch norm's statistics are over the whole batch of 256 (the official run on 2 TPU shards normalised
each shard's 128); ``train_accuracy`` is a running accuracy on the last epoch's augmented batches, not
an evaluation pass.

The device and precision are decided once, at the top: CUDA (the GPU picked from the local MPI rank)
when available, with bf16 autocast; otherwise float32 on the CPU. A failure of the candidate (non-finite
loss, out of memory, too little data) is returned as a failed :class:`Result` with its reason.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import time
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F

from alphax import environment
from alphax.errors import AlphaXError, ConfigError, DataError
from alphax.parameters import MIN_STEM_CHANNELS
from alphax.searchers.base import MAX_INT, Result
from alphax.spec import CellSpec
from workers.cifar import Cifar10, batches, training_stream
from workers.network import build_network, count_parameters

__all__ = ["TrainConfig", "RMSPropTF", "cosine_lr", "local_rank", "local_size", "cpu_share", "resolve_device",
           "check_device", "check_network_size", "device_memory", "device_name", "device_uuid",
           "fewest_parameters", "train_cell"]

log = logging.getLogger(__name__)


def _int_at_least(low: int):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


def _real(test):
    return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and test(v)


MAX_STACKS = 6
"""CIFAR-10's 32x32 images are halved by a 2x2 max-pool between stacks: the sixth stack sees 1x1, a
seventh would pool 1x1 to nothing (PyTorch's pool does not pad as TensorFlow's ``'same'`` did)."""

_RANGES = {
    **{k: (_int_at_least(1), "an integer >= 1") for k in ("epochs", "batch_size", "eval_batch_size",
                                                          "check_every", "attempts")},
    "modules_per_stack": (lambda v: _int_at_least(1)(v) and v <= MAX_INT, "an integer in 1..2^31-1"),
    "num_stacks": (lambda v: _int_at_least(1)(v) and v <= MAX_STACKS,
                   f"an integer in 1..{MAX_STACKS} (CIFAR-10's 32x32 images are halved between stacks: "
                   f"the sixth sees 1x1)"),
    # a search proposes any cell: a stem that some cell's output cannot share out fails those cells only
    "stem_channels": (lambda v: _int_at_least(MIN_STEM_CHANNELS)(v) and v <= MAX_INT,
                      f"an integer in {MIN_STEM_CHANNELS}..2^31-1 (a cell's output concatenates up to "
                      f"{MIN_STEM_CHANNELS} vertices, each of which needs a channel)"),
    "max_steps": (lambda v: v is None or _int_at_least(1)(v), "an integer >= 1"),
    "seed": (lambda v: _int_at_least(0)(v) and v < 2**63, "an integer in 0..2^63-1"),
    "learning_rate": (_real(lambda v: v > 0), "a positive number"),
    "momentum": (_real(lambda v: 0 <= v < 1), "in [0, 1)"),
    "rmsprop_decay": (_real(lambda v: 0 <= v < 1), "in [0, 1)"),
    "rmsprop_epsilon": (_real(lambda v: v > 0), "a positive number"),
    "weight_decay": (_real(lambda v: v >= 0), "a number >= 0"),
    "grad_clip": (lambda v: v is None or _real(lambda x: x > 0)(v), "a positive number (leave it out: no clipping)"),
}
"""Each :class:`TrainConfig` field's test and what it must be (a nonsense value fails at the start, once,
not as a failed result for every cell, or as a search on stem-only networks)."""
_CUDA_N = re.compile(r"cuda:\d+")


@dataclass(frozen=True)
class TrainConfig:
    """Training options; the defaults are NASBench-101's (see the module docstring)."""

    epochs: int = 108
    batch_size: int = 256
    learning_rate: float = 0.2
    momentum: float = 0.9
    rmsprop_decay: float = 0.9
    rmsprop_epsilon: float = 1.0
    weight_decay: float = 1e-4
    grad_clip: float | None = None
    stem_channels: int = 128
    num_stacks: int = 3
    modules_per_stack: int = 3
    eval_batch_size: int = 1000
    device: str = "auto"
    seed: int = 0
    max_steps: int | None = None
    """Stop after this many steps (the schedule still spans ``epochs``); for benchmarks."""
    check_every: int = 50
    """Steps between checks of the loss for NaN/inf (each check synchronizes with the GPU)."""
    attempts: int = 5
    """Trainings of a cell whose loss turns non-finite or that runs out of memory, each from a fresh
    initialisation (attempt k uses seed ``seed + k - 1``), before it is a failed result: NASBench-101's
    ``max_attempts`` (``nasbench/lib/evaluate.py``)."""

    def __post_init__(self):
        from alphax.config import TRAIN_FLAG_OF as flags

        for key, (ok, what) in _RANGES.items():
            value = getattr(self, key)
            if not ok(value):
                raise ConfigError(f"{flags.get(key, key)} must be {what}, got {value!r}")
        if not isinstance(self.device, str) or (self.device not in ("auto", "cpu", "cuda")
                                                and not _CUDA_N.fullmatch(self.device)):
            raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        side = 32 >> (self.num_stacks - 1)          # the last stack's images: 32x32 halved between stacks
        if self.batch_size * side * side < 2:
            raise ConfigError(f"--batch-size {self.batch_size} with --stacks {self.num_stacks}: the last stack sees "
                              f"{side}x{side} images, and batch norm needs more than one value per channel to train; "
                              f"give --batch-size 2 or more, or fewer stacks")

    def to_json(self) -> dict:
        return asdict(self)


class RMSPropTF(torch.optim.Optimizer):
    """TensorFlow 1's ``RMSPropOptimizer`` (the one NASBench-101 trained with), which differs from
    ``torch.optim.RMSprop``: the mean square starts at 1, epsilon is inside the square root, and the
    learning rate is inside the momentum accumulator::

        ms  = decay * ms + (1 - decay) * g^2
        mom = momentum * mom + lr * g / sqrt(ms + epsilon)
        w  -= mom

    ``weight_decay`` adds ``weight_decay * w`` to the gradient (TF's ``weight_decay * l2_loss(w)``).
    ``clip_norm`` (None: off; not NASBench-101's protocol) scales that total gradient, the L2 term's
    included, as ``tf.clip_by_global_norm`` would the gradient of TF's total loss: by
    ``clip_norm / max(norm, clip_norm)``, the norm taken over every parameter of the group.
    """

    def __init__(self, params, *, lr: float, decay: float = 0.9, momentum: float = 0.9,
                 epsilon: float = 1.0, weight_decay: float = 0.0, clip_norm: float | None = None):
        super().__init__(params, dict(lr=lr, decay=decay, momentum=momentum, epsilon=epsilon,
                                      weight_decay=weight_decay, clip_norm=clip_norm))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None and p.numel() > 0]
            if not params:
                continue
            grads = [p.grad for p in params]
            for p in params:
                if not self.state[p]:
                    self.state[p]["ms"] = torch.ones_like(p, memory_format=torch.preserve_format)
                    self.state[p]["mom"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            ms = [self.state[p]["ms"] for p in params]
            mom = [self.state[p]["mom"] for p in params]
            if group["weight_decay"]:
                grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
            if group.get("clip_norm") is not None:
                norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
                grads = torch._foreach_mul(grads, group["clip_norm"] / torch.clamp(norm, min=group["clip_norm"]))
            torch._foreach_mul_(ms, group["decay"])
            torch._foreach_addcmul_(ms, grads, grads, value=1.0 - group["decay"])
            denom = torch._foreach_add(ms, group["epsilon"])
            torch._foreach_sqrt_(denom)
            torch._foreach_mul_(mom, group["momentum"])
            torch._foreach_addcdiv_(mom, grads, denom, value=group["lr"])
            torch._foreach_sub_(params, mom)
        return loss


def cosine_lr(step: int, total_steps: int, base_lr: float) -> float:
    """NASBench's ``COSINE_BY_STEP``: ``0.5 * base * (1 + cos(pi * step / total))``, and 0 at step 0."""
    if step == 0:
        return 0.0
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))


def _launcher_numbers(names: tuple[str, ...]):
    """The values of the launcher variables ``names`` that are numbers, in that order."""
    return (int(os.environ[var]) for var in names if os.environ.get(var, "").isdigit())


def local_rank() -> int:
    """This process's rank on its node (MPICH/Hydra, Open MPI, torchrun, Slurm), 0 when unknown."""
    return next(_launcher_numbers(("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "LOCAL_RANK", "SLURM_LOCALID")), 0)


def local_size() -> int:
    """How many of the job's processes run on this node (MPICH/Hydra, Open MPI, torchrun), 1 when the
    launcher does not say (Slurm's ``srun``)."""
    sizes = _launcher_numbers(("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "LOCAL_WORLD_SIZE"))
    return next((n for n in sizes if n > 0), 1)


def cpu_share() -> int | None:
    """Torch threads for one of several processes of a job on one node: the CPUs this process may run on,
    shared among them (at least 1, and no more than torch would start alone: a thread per physical core).
    Each would otherwise start a thread per core, and K processes training on the CPU at once would run K
    threads per core, each slower than alone (BENCHMARKS.md). None where ``OMP_NUM_THREADS`` decides, or
    where the process is alone on its node (torch's own default then)."""
    if os.environ.get("OMP_NUM_THREADS") or local_size() == 1:
        return None
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:           # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus // local_size(), torch.get_num_threads()))


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: the GPU ``local_rank() % device_count`` when CUDA is available, else the CPU."""
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        if name == "auto":
            return torch.device("cpu")
        raise ConfigError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
    if name.startswith("cuda:"):
        return torch.device(name)
    return torch.device("cuda", local_rank() % torch.cuda.device_count())


def check_device(name: str = "auto") -> torch.device:
    """:func:`resolve_device`, and a ``cuda:N`` this machine has: a :class:`ConfigError` at the start,
    rather than a failed result for every cell."""
    device = resolve_device(name)
    count = torch.cuda.device_count() if device.type == "cuda" else 0
    if device.type == "cuda" and device.index is not None and device.index >= count:
        raise ConfigError(f"--device {name}: this machine has {count} GPU{'s' if count != 1 else ''} "
                          f"(cuda:0 to cuda:{count - 1}); give one of them, cuda or auto")
    return device


TRAINING_BYTES_PER_PARAMETER = 16
"""float32 weights, their gradients and RMSProp's two buffers (mean square and momentum)."""


def fewest_parameters(config: TrainConfig) -> int:
    """A lower bound on the parameters of any cell's network with ``config``'s stem, stacks and modules:
    each module projects its input (``c_in`` channels) by a 1x1 convolution onto every vertex the input
    feeds, and such a vertex has at least ``c_out // 5`` channels (NASBench-101 splits a module's output
    among at most 5 interior vertices, and a vertex has at least its successors' channels); the stem is a
    3x3 convolution of the image's 3 channels."""
    total, c_in = 27 * config.stem_channels, config.stem_channels
    for stack in range(config.num_stacks):
        c_out = config.stem_channels << stack
        total += c_in * (c_out // 5) + (config.modules_per_stack - 1) * c_out * (c_out // 5)
        c_in = c_out
    return total


def device_memory(device: torch.device) -> int | None:
    """``device``'s memory in bytes: a GPU's total, or the machine's physical memory for the CPU (None
    where not said)."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_network_size(config: TrainConfig, device: torch.device) -> None:
    """A :class:`ConfigError` at the start for a stem, stacks and modules whose every cell's network
    needs more memory to train than ``device`` has (or more than torch can address), rather than a failed
    result for every cell."""
    fewest = fewest_parameters(config)
    need = TRAINING_BYTES_PER_PARAMETER * fewest
    have = device_memory(device)
    if need < 2**63 and (have is None or need <= have):
        return
    holder = "this machine" if device.type == "cpu" else str(device)
    where = f"{holder}'s {have / 2**30:,.0f} GiB of memory" if need < 2**63 else "what torch can address"
    raise ConfigError(f"--stem-channels {config.stem_channels} with --stacks {config.num_stacks} and "
                      f"--modules-per-stack {config.modules_per_stack}: every cell's network has at least "
                      f"{fewest:.3g} parameters, {need / 2**30:.3g} GiB to train "
                      f"({TRAINING_BYTES_PER_PARAMETER} bytes each: weights, gradients, RMSProp's two buffers), "
                      f"more than {where}; give fewer stem channels, stacks or modules")


def device_name(device: torch.device) -> str | None:
    """The model of ``device``, for a result's ``info``: its training time and rate are that hardware's.
    A GPU's name as CUDA gives it (``NVIDIA H100 80GB HBM3``), the CPU's as Linux does (None where not
    said)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return environment.software()["cpu"]


def device_uuid(device: torch.device) -> str | None:
    """Which physical GPU ``device`` is (CUDA's UUID of it), whatever ``CUDA_VISIBLE_DEVICES`` calls it in
    this process: the MPI server warns of two clients on one GPU. None for the CPU, and where this torch
    does not say."""
    if device.type != "cuda":
        return None
    uuid = getattr(torch.cuda.get_device_properties(device), "uuid", None)
    return str(uuid) if uuid is not None else None


_WARM_STEPS = 20
"""``steady_images_per_second`` (in a result's ``info``) counts the steps after these, which carry the
one-off costs (cuDNN's autotuning, the first kernels' loading); only for a training of more than twice
as many."""


class _Diverged(Exception):
    pass


class _Retry(Exception):
    """A failure NASBench-101 trains again from a fresh initialisation (non-finite loss, out of memory)."""

    def __init__(self, reason: str, info: dict):
        super().__init__(reason)
        self.info = info


def train_cell(spec: CellSpec, data: Cifar10, config: TrainConfig = TrainConfig(), *,
               worker: str = "inline") -> Result:
    """Train ``spec``'s network on ``data`` and evaluate it; ``accuracy`` is the validation accuracy.

    ``info`` holds ``validation_accuracy``, ``test_accuracy``, ``train_accuracy`` (last epoch, on
    augmented batches), ``training_time`` (seconds in the training loop), ``trainable_parameters``,
    ``steps``, ``epochs``, ``images_per_second`` (and ``steady_images_per_second``, after the first
    steps' one-off costs), ``device`` and ``device_name`` (its model: the GPU's or the CPU's), ``dtype``
    and ``attempts`` (with ``failed_attempts``, the reasons, when there was more than one). A non-finite
    loss or an out-of-memory error is trained again from a fresh initialisation, up to ``config.attempts``
    in all; then, as unusable data at once, it gives a failed result (``accuracy`` None, ``error`` the
    reason). ``seconds`` counts every attempt.
    """
    start = time.perf_counter()
    failures: list[str] = []
    info: dict = {}
    for attempt in range(1, config.attempts + 1):
        try:
            result = _train_once(spec, data, config, seed=config.seed + attempt - 1, worker=worker)
        except _Retry as exc:
            failures.append(str(exc))
            info = exc.info
            log.warning("training attempt %d of %d failed: %s", attempt, config.attempts, exc)
            continue
        result.info["attempts"] = attempt
        if failures:
            result.info["failed_attempts"] = failures
        return replace(result, seconds=time.perf_counter() - start)
    info.update(attempts=config.attempts, failed_attempts=failures)
    more = (f" (and in {len(failures) - 1} earlier attempts, each from a fresh initialisation)"
            if len(failures) > 1 else "")
    return _failed(failures[-1] + more, start, worker, info)


def _train_once(spec: CellSpec, data: Cifar10, config: TrainConfig, *, seed: int, worker: str) -> Result:
    """One attempt of :func:`train_cell`, seeded with ``seed``; raises :class:`_Retry` for a failure the
    protocol trains again."""
    # -- device and precision, once ----------------------------------------------------------------
    device = resolve_device(config.device)
    use_cuda = device.type == "cuda"
    dtype = torch.bfloat16 if use_cuda else torch.float32
    layout = torch.channels_last if use_cuda else torch.contiguous_format   # NHWC helps cuDNN, not CPU
    autocast = (torch.autocast(device_type="cuda", dtype=dtype) if use_cuda else contextlib.nullcontext())
    if use_cuda:
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(seed)
    gen = torch.Generator(device=device).manual_seed(seed)
    start = time.perf_counter()
    info: dict = {"device": str(device), "device_name": device_name(device), "dtype": str(dtype).removeprefix("torch."),
                  "cifar_data": data.digest}
    try:
        model = build_network(spec, stem_channels=config.stem_channels, num_stacks=config.num_stacks,
                              modules_per_stack=config.modules_per_stack)
        info["trainable_parameters"] = count_parameters(model)
        model = model.to(device, memory_format=layout)
        train_x, train_y = _to_device(data.train, device)
        if len(train_y) < config.batch_size:
            raise DataError(f"{len(train_y)} training images are fewer than one batch of {config.batch_size}")
        stream = training_stream(train_x, train_y, config.batch_size, generator=gen)
        steps_per_epoch = len(train_y) / config.batch_size
        total_steps = int(config.epochs * len(train_y) / config.batch_size)   # NASBench's max_steps
        last_step = min(total_steps, config.max_steps or total_steps)
        optimizer = RMSPropTF(model.parameters(), lr=0.0, decay=config.rmsprop_decay,
                              momentum=config.momentum, epsilon=config.rmsprop_epsilon,
                              weight_decay=config.weight_decay, clip_norm=config.grad_clip)

        # -- the training loop -----------------------------------------------------------------
        t_train = time.perf_counter()
        t_warm = None
        bad = torch.zeros((), dtype=torch.bool, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)     # over the last epoch's steps
        seen = 0
        last_epoch = max(0, last_step - math.ceil(steps_per_epoch))
        model.train()
        for step in range(last_step):
            x, y = next(stream)
            lr = cosine_lr(step, total_steps, config.learning_rate)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x = x.contiguous(memory_format=layout)
            with autocast:
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            bad |= ~torch.isfinite(loss.detach())
            if step >= last_epoch:
                correct += (logits.detach().argmax(1) == y).sum()
                seen += len(y)
            if step + 1 == _WARM_STEPS and last_step > 2 * _WARM_STEPS:    # past cuDNN's autotuning
                if use_cuda:
                    torch.cuda.synchronize(device)
                t_warm = time.perf_counter()
            if (step + 1) % config.check_every == 0 or step + 1 == last_step:
                if bad.item():
                    raise _Diverged(f"non-finite training loss by step {step + 1} ({(step + 1) / steps_per_epoch:.2f} "
                                    f"epochs)")
                log.debug("step %d/%d loss %.4f lr %.4f", step + 1, total_steps, loss.item(), lr)
        if use_cuda:
            torch.cuda.synchronize(device)
        training_time = time.perf_counter() - t_train
        step = last_step

        # -- evaluation ------------------------------------------------------------------------
        info.update(train_accuracy=correct.item() / max(seen, 1), training_time=training_time,
                    steps=step, epochs=step / steps_per_epoch,
                    images_per_second=step * config.batch_size / training_time)
        if t_warm is not None:
            info["steady_images_per_second"] = ((step - _WARM_STEPS) * config.batch_size
                                                / (t_train + training_time - t_warm))
        for key, split in (("validation_accuracy", data.valid), ("test_accuracy", data.test)):
            info[key] = _accuracy(model, split, device, autocast, layout, config.eval_batch_size)
    except _Diverged as exc:
        raise _Retry(str(exc), info) from None
    except (torch.OutOfMemoryError, RuntimeError) as exc:
        # CUDA's out of memory, or the CPU allocator's (a plain RuntimeError): tried again, then a failed result
        if not isinstance(exc, torch.OutOfMemoryError) and "DefaultCPUAllocator" not in str(exc):
            raise
        if use_cuda:
            torch.cuda.empty_cache()
        raise _Retry(f"out of memory: {str(exc).splitlines()[0]}", info) from None
    except AlphaXError as exc:
        return _failed(f"{type(exc).__name__}: {exc}", start, worker, info)
    return Result(accuracy=info["validation_accuracy"], seconds=time.perf_counter() - start, worker=worker,
                  info=info)


def _failed(reason: str, start: float, worker: str, info: dict) -> Result:
    log.warning("training failed: %s", reason)
    return Result(accuracy=None, seconds=time.perf_counter() - start, worker=worker, error=reason, info=info)


def _to_device(split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.from_numpy(split.images).to(device, non_blocking=True),
            torch.from_numpy(split.labels).to(device, non_blocking=True))


@torch.inference_mode()
def _accuracy(model: torch.nn.Module, split, device: torch.device, autocast, layout, batch_size: int) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) on every image of ``split``."""
    if len(split) == 0:
        raise DataError("an evaluation split has no images")
    model.eval()
    x_all, y_all = _to_device(split, device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for x, y in batches(x_all, y_all, batch_size):
        with autocast:
            logits = model(x.contiguous(memory_format=layout))
        if not torch.isfinite(logits).all():
            raise _Diverged("non-finite logits at evaluation")
        correct += (logits.argmax(1) == y).sum()
    return correct.item() / len(split)
