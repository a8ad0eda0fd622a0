"""The NASBench-101 network built with nasbench-pytorch, and each workaround of its known faults."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from alphax.errors import OutOfDomainError
from alphax.spec import CellSpec
from workers.network import BN_DECAY, BN_EPSILON, build_network, count_parameters, trainable_parameters

import nasbench_pytorch  # noqa: E402

SMALL = dict(stem_channels=8, num_stacks=2, modules_per_stack=1)
# input -> conv3x3 -> output, input -> maxpool -> output, input -> output (projection on the input edge)
CELL = CellSpec([[0, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
DISCONNECTED = ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", "conv1x1-bn-relu", "output"])


def test_parameters_equal_nasbench_on_120_subset_cells(subset_rows):
    """A built network has exactly NASBench-101's trainable_parameters (stem 128, 3 x 3, 10 labels)."""
    rng = np.random.default_rng(0)
    rows = [subset_rows[i] for i in rng.choice(len(subset_rows), size=120, replace=False)]
    mismatches = [(r["hash"], trainable_parameters(CellSpec(r["matrix"], r["ops"])), r["trainable_parameters"])
                  for r in rows]
    mismatches = [m for m in mismatches if m[1] != m[2]]
    assert mismatches == []


# the cell of google-research/nasbench's example.py; its module hash as google-research's own tests of
# NASBench-101 evaluation give it (FEC: ``mock_model_spec.graph_hash``)
EXAMPLE = CellSpec([[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                    [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
                   ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu",
                    "maxpool3x3", "output"])


def test_the_official_example_cell_without_data():
    """The hash pinned with no data set at hand (the subset checks need the shared data), and the built
    network's parameters equal the counting function's (which the 120 real cells above check)."""
    assert EXAMPLE.hash == "28cfc7874f6d200472e1a9dcd8650aa0"
    assert count_parameters(build_network(EXAMPLE)) == trainable_parameters(EXAMPLE)


def test_placeholder_parameters_are_dropped():
    """Fault: nasbench-pytorch's Placeholder modules each add an unused trainable scalar."""
    from nasbench_pytorch.model import Network
    from nasbench_pytorch.model.model import Placeholder

    raw = Network((CELL.matrix, list(CELL.ops)), stem_out_channels=8, num_stacks=2, num_modules_per_stack=1)
    ours = build_network(CELL, **SMALL)
    placeholders = sum(isinstance(m, Placeholder) for m in raw.modules())
    assert placeholders > 0
    assert count_parameters(raw) - count_parameters(ours) == placeholders
    assert not any(isinstance(m, Placeholder) for m in ours.modules())


def test_batch_norm_decay_is_converted_to_pytorch_momentum():
    """Fault: TF's decay 0.997 is passed as PyTorch momentum, and vertex ops ignore it (keep 0.1)."""
    from nasbench_pytorch.model import Network

    raw = Network((CELL.matrix, list(CELL.ops)), stem_out_channels=8, num_stacks=2, num_modules_per_stack=1)
    assert {m.momentum for m in raw.modules() if isinstance(m, nn.BatchNorm2d)} == {0.997, 0.1}
    ours = build_network(CELL, **SMALL)
    bns = [m for m in ours.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(m.momentum == pytest.approx(1 - BN_DECAY) and m.eps == BN_EPSILON for m in bns)
    assert 1 - BN_DECAY == pytest.approx(0.003)
    # one training-mode forward moves the running mean by 0.003 of the batch mean (TF: decay 0.997)
    stem_bn = bns[0]
    torch.manual_seed(0)
    ours.train()
    captured = {}
    hook = stem_bn.register_forward_hook(lambda m, i, o: captured.setdefault("x", i[0].detach()))
    ours(torch.randn(4, 3, 8, 8))
    hook.remove()
    batch_mean = captured["x"].mean(dim=(0, 2, 3))
    torch.testing.assert_close(stem_bn.running_mean, 0.003 * batch_mean, rtol=1e-4, atol=1e-6)


def test_disconnected_cell_is_flagged_not_crashed():
    """Fault: nasbench-pytorch's ModelSpec raises a raw error for a disconnected spec."""
    from nasbench_pytorch.model import ModelSpec

    with pytest.raises(Exception) as raw:
        ModelSpec(np.array(DISCONNECTED[0]), list(DISCONNECTED[1]))
    assert not isinstance(raw.value, OutOfDomainError)
    spec = CellSpec(*DISCONNECTED)
    assert not spec.valid_spec
    with pytest.raises(OutOfDomainError, match="disconnected"):
        build_network(spec, **SMALL)
    with pytest.raises(OutOfDomainError):
        trainable_parameters(spec)


def test_hash_spec_crashes_and_cellspec_hash_replaces_it(subset_rows):
    """Fault: ModelSpec.hash_spec() crashes; CellSpec.hash is NASBench-101's hash."""
    from nasbench_pytorch.model import ModelSpec

    row = subset_rows[0]
    with pytest.raises(Exception):
        ModelSpec(np.array(row["matrix"]), list(row["ops"])).hash_spec(
            ["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"])
    assert CellSpec(row["matrix"], row["ops"]).hash == row["hash"]


def test_forward_shape_and_gradients():
    net = build_network(CELL, stem_channels=8, num_stacks=2, modules_per_stack=2, num_labels=7)
    out = net(torch.randn(3, 3, 16, 16))
    assert out.shape == (3, 7)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.numel())


def test_input_to_output_only_cell():
    spec = CellSpec([[0, 1], [0, 0]], ["input", "output"])
    net = build_network(spec, **SMALL)
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)
    assert trainable_parameters(spec, **SMALL) == count_parameters(net)


# -- found missing by a mutation audit (2026-12-05): each fails on one plausible bug --
def test_conv_weights_have_the_variance_of_tf_variance_scaling():
    """Std 1 / sqrt(fan_in), fan_in = in_channels * kh * kw."""
    import torch
    from torch import nn

    from alphax.spec import CellSpec
    from workers.network import build_network

    cell = CellSpec([[0, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                    ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    torch.manual_seed(0)
    net = build_network(cell, stem_channels=32, num_stacks=2, modules_per_stack=1)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.weight.numel() >= 2000]
    assert convs
    for conv in convs:
        fan_in = conv.weight[0].numel()
        assert conv.weight.std().item() == pytest.approx(fan_in ** -0.5, rel=0.1)


def test_a_batch_norm_decay_and_epsilon_given_reach_every_batch_norm():
    """Not only the defaults: nasbench-pytorch's vertex ops ignore the momentum and eps given to Network,
    so a decay of 0.9 and an epsilon of 1e-3 must be set on each of them too."""
    net = build_network(CELL, bn_decay=0.9, bn_epsilon=1e-3, **SMALL)
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) >= 4
    assert all(m.momentum == pytest.approx(0.1) and m.eps == 1e-3 for m in bns)


def test_the_classifier_is_glorot_uniform_and_its_bias_zero():
    """tf.layers.dense's default: weights uniform within sqrt(6 / (fan_in + fan_out)), bias 0 (nasbench-pytorch's
    own init without tf_like draws the weights normal with standard deviation 0.01)."""
    torch.manual_seed(0)
    net = build_network(CELL, stem_channels=32, num_stacks=1, modules_per_stack=1, num_labels=10)
    (dense,) = [m for m in net.modules() if isinstance(m, nn.Linear)]
    fan_in, fan_out = dense.in_features, dense.out_features
    bound = (6 / (fan_in + fan_out)) ** 0.5
    assert dense.weight.abs().max().item() <= bound
    assert dense.weight.abs().max().item() > 0.9 * bound
    assert torch.count_nonzero(dense.bias).item() == 0
