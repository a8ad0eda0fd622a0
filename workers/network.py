"""A NASBench-101 cell built as a PyTorch network with nasbench-pytorch's ``Network``.

nasbench-pytorch 1.3.1 has four known faults; :func:`build_network` works around each (every one is
pinned by a test in ``tests/test_network.py``):

1. ``ModelSpec.hash_spec()`` crashes (it hashes a torch tensor); the hash is :attr:`CellSpec.hash`.
2. A disconnected spec raises a ``RuntimeError`` from ``torch.tensor(None)`` instead of being flagged;
   the cell is validated with :func:`alphax.spec.check_in_space` first (one ``OutOfDomainError``).
3. Every ``Cell`` holds ``Placeholder`` modules with a scalar trainable parameter that is never used
   (2 to 7 extra parameters per cell); they are replaced by parameter-free ``nn.Identity``, so a built
   network has exactly NASBench-101's ``trainable_parameters``.
4. TensorFlow's batch-norm *decay* 0.997 is passed as PyTorch's ``momentum`` (PyTorch's momentum is the
   weight of the new batch: it must be ``1 - 0.997 = 0.003``), and the vertex ops ignore it altogether
   (they keep PyTorch's 0.1); every ``BatchNorm2d`` is set to momentum ``1 - decay`` and eps 1e-5
   (nasbench ``base_ops.BN_MOMENTUM``/``BN_EPSILON``).

The weights are drawn as NASBench-101's (:func:`_init_like_nasbench`): convolutions normal with standard
deviation ``1 / sqrt(fan_in)``, the variance of TensorFlow's ``variance_scaling_initializer()`` (whose
draw is a normal truncated at two standard deviations and rescaled; ours is not truncated), the
classifier Glorot-uniform (``tf.layers.dense``'s default), biases zero, instead of nasbench-pytorch's
default He-style init. (Its own ``tf_like=True`` does the same but cannot build on the meta device.)
"""

from __future__ import annotations

import contextlib
import logging

import torch
from torch import nn

from alphax.parameters import check_stem_channels
from alphax.spec import CellSpec, check_in_space

__all__ = ["BN_DECAY", "BN_EPSILON", "build_network", "trainable_parameters", "count_parameters"]

log = logging.getLogger(__name__)

BN_DECAY = 0.997
"""NASBench-101's batch-norm moving-average decay (TensorFlow convention; nasbench ``base_ops.py``)."""
BN_EPSILON = 1e-5
"""NASBench-101's batch-norm epsilon (nasbench ``base_ops.py``)."""


def build_network(spec: CellSpec, *, stem_channels: int = 128, num_stacks: int = 3,
                  modules_per_stack: int = 3, num_labels: int = 10, bn_decay: float = BN_DECAY,
                  bn_epsilon: float = BN_EPSILON, device: torch.device | str | None = None) -> nn.Module:
    """The NASBench-101 network of ``spec``: stem conv, ``num_stacks`` stacks of ``modules_per_stack``
    cells (channels doubled and 2x2 max-pool between stacks), global average pool, linear classifier.

    Input ``(N, 3, H, W)`` float, output ``(N, num_labels)`` logits. Raises ``OutOfDomainError`` for a
    cell outside the space (disconnected included). The weights are created on ``device`` (``"meta"``
    allocates nothing).
    """
    from nasbench_pytorch.model import ModelSpec, Network

    check_in_space(spec)
    check_stem_channels(spec, stem_channels)        # nasbench-pytorch would assert, or divide by zero
    # in NASBench-101's own order: the split of channels among the vertices depends on it, and the cell's
    # hash names the network of that order (another order of the same cell was built 1 time in 3 otherwise)
    spec = spec.stored_form()
    model_spec = ModelSpec(spec.matrix.copy(), list(spec.ops))  # its matrix stays a CPU tensor
    with torch.device(device) if device is not None else contextlib.nullcontext():
        net = Network(model_spec, num_labels=num_labels, stem_out_channels=stem_channels,
                      num_stacks=num_stacks, num_modules_per_stack=modules_per_stack,
                      momentum=1.0 - bn_decay, eps=bn_epsilon)
        _init_like_nasbench(net)
    _drop_placeholders(net)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 1.0 - bn_decay
            m.eps = bn_epsilon
    return net


@torch.no_grad()
def _init_like_nasbench(net: nn.Module) -> None:
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, std=m.weight[0].numel() ** -0.5)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
            nn.init.zeros_(m.bias)


def _drop_placeholders(net: nn.Module) -> None:
    """Replace nasbench-pytorch's ``Placeholder`` modules (each with an unused scalar parameter)."""
    from nasbench_pytorch.model.model import Cell, Placeholder

    for cell in net.modules():
        if not isinstance(cell, Cell):
            continue
        for ops in (cell.vertex_op, cell.input_op):
            for i, op in enumerate(ops):
                if isinstance(op, Placeholder):
                    ops[i] = nn.Identity()
        cell.last_inop = cell.input_op[cell.num_vertices - 1]


def count_parameters(net: nn.Module) -> int:
    """Number of trainable scalars (TensorFlow's ``trainable_variables``)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def trainable_parameters(spec: CellSpec, *, stem_channels: int = 128, num_stacks: int = 3,
                         modules_per_stack: int = 3, num_labels: int = 10) -> int:
    """NASBench-101's ``trainable_parameters`` of ``spec``, counted on the built network (on the meta
    device: no memory is allocated and no weights are drawn)."""
    net = build_network(spec, stem_channels=stem_channels, num_stacks=num_stacks,
                        modules_per_stack=modules_per_stack, num_labels=num_labels, device="meta")
    return count_parameters(net)
