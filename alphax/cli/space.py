"""``alphax space``: the NASBench-101 cell space (count, hash, params)."""

from __future__ import annotations

import argparse

from alphax.spec import CellSpec, check_in_space, parse_matrix, parse_ops

__all__ = ["add_parser"]

MAX_STACKS = 62
"""``space params --stacks`` past this doubles any stem's channels beyond what a tensor's size can hold."""
MAX_MODULES = 1000
"""``space params`` builds at most this many modules (``--stacks`` x ``--modules-per-stack``): about 20 s."""


def add_parser(sub) -> None:
    p = sub.add_parser("space", help="the NASBench-101 cell space")
    cmds = p.add_subparsers(dest="space_command", required=True, parser_class=type(p))

    c = cmds.add_parser("count", help="print the number of unique valid cells (enumerated, cached)")
    c.add_argument("--cache", help="enumeration cache file (default: nasbench101_cells_v1.npz in $ALPHAX_CACHE_DIR, "
                   "else in $XDG_CACHE_HOME/alphax or ~/.cache/alphax)")
    c.set_defaults(handler=_count)

    h = cmds.add_parser("hash", help="print a cell's NASBench-101 module hash")
    _cell_args(h)
    h.set_defaults(handler=_hash)

    q = cmds.add_parser("params", help="print the trainable parameters of the cell's NASBench-101 network "
                                       "(NASBench-101's trainable_parameters; built with nasbench-pytorch)")
    _cell_args(q)
    q.add_argument("--stem-channels", type=int, default=128,
                   help="stem output channels (default 128; at least as many as the vertices feeding the output)")
    q.add_argument("--stacks", type=int, default=3, help="stacks of cells (default 3)")
    q.add_argument("--modules-per-stack", type=int, default=3, help="cells per stack (default 3)")
    q.add_argument("--num-labels", type=int, default=10, help="classes (default 10, CIFAR-10)")
    q.set_defaults(handler=_params)


def _cell_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--matrix", required=True, help="adjacency matrix as JSON, e.g. '[[0,1],[0,0]]'")
    p.add_argument("--ops", required=True, help="comma-separated ops, e.g. input,conv3x3-bn-relu,output")


def cell_from_args(args: argparse.Namespace) -> CellSpec:
    """The validated cell given by ``--matrix``/``--ops`` (raises OutOfDomainError)."""
    spec = CellSpec(parse_matrix(args.matrix), parse_ops(args.ops))
    check_in_space(spec)
    return spec


def _count(args: argparse.Namespace) -> int:
    from alphax.enumerate import load_enumeration

    print(len(load_enumeration(args.cache)))
    return 0


def _hash(args: argparse.Namespace) -> int:
    print(cell_from_args(args).hash)
    return 0


def _params(args: argparse.Namespace) -> int:
    from alphax.errors import ConfigError, first_line

    spec = cell_from_args(args)
    for name in ("stem_channels", "stacks", "modules_per_stack", "num_labels"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    too_large = (f"a network of --stem-channels {args.stem_channels}, --stacks {args.stacks} and --num-labels "
                 f"{args.num_labels} is too large for torch to build")
    if args.stacks > MAX_STACKS:      # its last stack's channels (2^(stacks-1) x the stem's) outgrow a tensor's size
        raise ConfigError(f"{too_large} (each stack doubles the channels); give at most {MAX_STACKS} stacks")
    if args.stacks * args.modules_per_stack > MAX_MODULES:
        raise ConfigError(f"--stacks {args.stacks} x --modules-per-stack {args.modules_per_stack} modules: this "
                          f"command builds at most {MAX_MODULES:,} (seconds each hundred); give fewer")
    from workers.network import trainable_parameters     # imports torch

    try:
        count = trainable_parameters(spec, stem_channels=args.stem_channels, num_stacks=args.stacks,
                                     modules_per_stack=args.modules_per_stack, num_labels=args.num_labels)
    except (RuntimeError, TypeError, OverflowError) as exc:    # torch: more than 2^63 elements, or a size past
        # a C long, even on the meta device
        raise ConfigError(f"{too_large} ({args.stem_channels} x 2^{args.stacks - 1} channels in its last stack; "
                          f"{first_line(exc)}); give fewer stacks, stem channels or labels") from None
    print(count)
    return 0
