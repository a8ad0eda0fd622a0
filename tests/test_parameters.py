"""The trainable-parameter count computed from the cell (alphax.parameters, numpy only) against
NASBench-101's recorded counts and against the PyTorch network that workers.network builds."""

from __future__ import annotations

import numpy as np
import pytest

from alphax.errors import OutOfDomainError
from alphax.parameters import trainable_parameters, vertex_channels
from alphax.spaces import NASBench101Space
from alphax.spec import CellSpec

SPACE = NASBench101Space()


def test_equals_nasbench_on_every_subset_cell(subset_rows):
    wrong = [r["hash"] for r in subset_rows
             if trainable_parameters(SPACE.from_json(r)) != r["trainable_parameters"]]
    assert len(subset_rows) == 20_001 and wrong == []


def test_every_order_of_a_cell_s_vertices_counts_and_builds_nasbench_s_network(subset_rows):
    """Found by a bug hunt (2026-12-08): the remainder channels go to the lowest-numbered vertices that feed
    the output, so another order of the same cell (same hash) built another network, 1 reordering in 3 of
    the subset's cells (a mutation's child, an open-mode cell), trained and recorded under the hash. Every
    cell is counted and built in the order NASBench-101 stores it (the enumeration's representative)."""
    from alphax.graph import topological_orders
    from workers.network import trainable_parameters as built

    rng = np.random.default_rng(3)
    changed = 0
    for r in [subset_rows[i] for i in rng.choice(len(subset_rows), 300, replace=False)]:
        stored = CellSpec(r["matrix"], r["ops"])
        assert stored.stored_form() is stored                   # the subset's cells are in stored order
        for order in topological_orders(stored.matrix)[1:4]:
            cell = CellSpec(stored.matrix[np.ix_(order, order)], [stored.ops[v] for v in order])
            form = cell.stored_form()
            assert form.matrix.tolist() == r["matrix"] and form.ops == r["ops"] and form.hash == r["hash"]
            assert trainable_parameters(cell) == r["trainable_parameters"]
            changed += vertex_channels(128, 128, cell.matrix) != vertex_channels(128, 128, stored.matrix)
    assert changed >= 20                  # orders that split the channels otherwise were among them
    fan = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    cell = CellSpec(fan, ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "output"])   # stored
    other = CellSpec(fan, ["input", "maxpool3x3", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"])
    # 128 channels over 3 vertices: 43, 43, 42; the 1x1 conv had 42 in the other order
    assert cell.stored_form() is cell and other.hash == cell.hash
    assert built(other) == built(cell) == trainable_parameters(other) == trainable_parameters(cell)


def test_equals_nasbench_on_the_full_records(full_records):
    for rec in full_records:
        spec = CellSpec(rec["matrix"], rec["ops"])
        assert trainable_parameters(spec) == rec["trainable_parameters"]


@pytest.mark.parametrize("shape", [dict(stem_channels=8, num_stacks=2, modules_per_stack=2, num_labels=7),
                                   dict(stem_channels=5, num_stacks=3, modules_per_stack=1, num_labels=10)])
def test_equals_the_built_network_for_other_shapes(shape):
    from workers.network import trainable_parameters as built

    rng = np.random.default_rng(0)
    for _ in range(20):
        cell = SPACE.random_cell(rng)
        assert trainable_parameters(cell, **shape) == built(cell, **shape)


def test_vertex_channels_split_the_output_as_nasbench_does():
    # input -> 1, 2, 3 -> output: 3 vertices share 128 output channels as 43, 43, 42
    m = np.zeros((5, 5), dtype=int)
    m[0, 1:4] = 1
    m[1:4, 4] = 1
    assert vertex_channels(64, 128, m) == [64, 43, 43, 42, 128]
    # a vertex that only feeds another takes the larger of its successors' channels
    m = np.zeros((4, 4), dtype=int)
    m[0, 1] = m[1, 2] = m[2, 3] = 1
    assert vertex_channels(64, 128, m) == [64, 128, 128, 128]


def test_a_stem_too_narrow_for_the_cell_s_output_is_refused_by_the_count_and_the_builder():
    """The output concatenates 4 vertices: 3 stem channels leave one with 0 channels. nasbench-pytorch
    then fails a bare assertion (1, 2) or divides by zero (3), and the count was of a network that cannot
    be built; both now name the problem and the way out. 4 builds it, and 5 builds every cell."""
    from alphax.errors import ConfigError
    from alphax.parameters import MIN_STEM_CHANNELS
    from workers.network import build_network
    from workers.network import trainable_parameters as built

    cell = CellSpec([[0, 1, 1, 1, 0, 0], [0, 0, 0, 1, 0, 1], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 1],
                     [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]],
                    ["input", "conv1x1-bn-relu", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"])
    for stem in (1, 2, 3):
        for count in (trainable_parameters, built):
            with pytest.raises(ConfigError, match=f"--stem-channels {stem} is too few for this cell: its output "
                                                  f"concatenates 4 vertices.*give --stem-channels 4 or more"):
                count(cell, stem_channels=stem, num_stacks=1, modules_per_stack=1)
        with pytest.raises(ConfigError, match="too few"):
            build_network(cell, stem_channels=stem, num_stacks=1, modules_per_stack=1, device="meta")
    assert trainable_parameters(cell, stem_channels=4) == built(cell, stem_channels=4)
    rng = np.random.default_rng(1)
    for _ in range(30):                                 # the space's minimum builds any cell
        c = SPACE.random_cell(rng)
        assert trainable_parameters(c, stem_channels=MIN_STEM_CHANNELS, num_stacks=1, modules_per_stack=1) == \
            built(c, stem_channels=MIN_STEM_CHANNELS, num_stacks=1, modules_per_stack=1)


def test_a_disconnected_cell_has_no_count():
    spec = CellSpec([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
    with pytest.raises(OutOfDomainError, match="disconnected"):
        trainable_parameters(spec)


# -- found missing by a mutation audit of the NASBench-101 structure (2026-12-05) --
def test_an_input_to_output_edge_is_not_a_vertex_that_needs_a_stem_channel(subset_rows):
    """The stem check counts the interior vertices that feed the output: the input's own edge into the
    output is a projection of the input to all the output's channels, not a share of them. A real cell
    with 4 feeding vertices and an input -> output edge builds with 4 stem channels, not 3."""
    from alphax.errors import ConfigError
    from workers.network import trainable_parameters as built

    row = next(r for r in subset_rows if r["hash"] == "0066cedd70a7e37ffb12ab957aaaca36")
    cell = SPACE.from_json(row)
    assert cell.matrix[0, -1] == 1 and cell.matrix[1:, -1].sum() == 4
    small = dict(num_stacks=1, modules_per_stack=1)
    assert trainable_parameters(cell, stem_channels=4, **small) == built(cell, stem_channels=4, **small)
    with pytest.raises(ConfigError, match="--stem-channels 3 is too few for this cell: its output concatenates 4 "
                                          "vertices"):
        trainable_parameters(cell, stem_channels=3, **small)
    assert trainable_parameters(cell) == row["trainable_parameters"]
