"""``alphax nasbench``: NASBench-101 offline (info, query, convert)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from alphax.cli import path_arg

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    p = sub.add_parser("nasbench", help="NASBench-101 data: info, query, convert (no TensorFlow)")
    cmds = p.add_subparsers(dest="nasbench_command", required=True, parser_class=type(p))
    data_help = ("NASBench-101 file or folder: official .tfrecord, nb101_real_subset.jsonl.gz or compact .nb101 "
                 "(default: $ALPHAX_NASBENCH101, else ../shared/data/nasbench101)")

    i = cmds.add_parser("info", help="print JSON: cells, epochs (budgets present), fields")
    i.add_argument("--data", type=path_arg, metavar="PATH", help=data_help)
    i.set_defaults(handler=_info)

    q = cmds.add_parser("query", help="print one recorded training repeat of a cell as JSON (official fields)")
    q.add_argument("--data", type=path_arg, metavar="PATH", help=data_help)
    q.add_argument("--matrix", required=True, help="adjacency matrix as JSON, e.g. '[[0,1],[0,0]]'")
    q.add_argument("--ops", required=True, help="comma-separated ops, e.g. input,conv3x3-bn-relu,output")
    q.add_argument("--epochs", type=int, default=108, help="training budget (default 108)")
    q.add_argument("--seed", type=int, default=None, help="seed of the repeat choice (default: random)")
    q.add_argument("--stop-halfway", action="store_true", help="metrics at half the budget")
    q.set_defaults(handler=_query)

    c = cmds.add_parser("convert", help="write the compact file (loads in well under a second)")
    c.add_argument("src", type=path_arg, metavar="SRC",
                   help="official .tfrecord, real-subset .jsonl.gz or compact file (or folder)")
    c.add_argument("-o", "--output", type=path_arg, metavar="DST", required=True,
                   help="compact file to write (*.nb101)")
    c.add_argument("--force", action="store_true", help="overwrite DST if it exists")
    c.set_defaults(handler=_convert)


def _info(args: argparse.Namespace) -> int:
    from alphax.nasbench.api import NASBench101

    print(json.dumps(NASBench101(args.data).info()))
    return 0


def _query(args: argparse.Namespace) -> int:
    from alphax.nasbench.api import NASBench101
    from alphax.spec import CellSpec, check_in_space, parse_matrix, parse_ops

    spec = CellSpec(parse_matrix(args.matrix), parse_ops(args.ops))
    check_in_space(spec)  # before loading the data: a bad cell fails fast
    nb = NASBench101(args.data, seed=args.seed)
    result = nb.query(spec, epochs=args.epochs, stop_halfway=args.stop_halfway)
    result["module_adjacency"] = result["module_adjacency"].tolist()
    print(json.dumps(result))
    return 0


def _convert(args: argparse.Namespace) -> int:
    from alphax.atomic import existing_ancestor
    from alphax.errors import DataError
    from alphax.nasbench.compact import read_note, write_compact
    from alphax.nasbench.formats import load_table
    from alphax.nasbench.paths import COMPACT_SUFFIX, resolve_data_path
    from alphax.nasbench.table import check_output

    src = resolve_data_path(args.src, option="convert's SRC")
    dst = Path(args.output)
    if args.output.endswith(("/", os.sep)) and not dst.is_dir():
        raise DataError(f"{args.output} ends in '/', a folder's name; give the compact file's name, "
                        f"e.g. {dst / 'nasbench101.nb101'}")
    check_output(dst, overwrite=args.force)
    above = existing_ancestor(dst)
    if not above.is_dir():
        raise DataError(f"cannot write {dst}: {above} is a file, not a folder; give another -o")
    start = time.perf_counter()
    table, fmt = load_table(src, convert_hint=False)
    if fmt != "compact" and dst.exists() and dst.resolve() == Path(src).resolve():
        raise DataError(f"{dst} is the {fmt} source itself, which the compact file would replace; "
                        f"write it under another name")
    # a labelled compact file (a speed fixture's generated metrics) stays labelled in its copy
    write_compact(dst, table, overwrite=args.force, note=read_note(src) if fmt == "compact" else None)
    if not dst.name.endswith(COMPACT_SUFFIX):
        print(f"alphax: warning: {dst} does not end in {COMPACT_SUFFIX}: a folder given to --data finds a compact "
              f"file only by a *{COMPACT_SUFFIX} name, so give this one by its name", file=sys.stderr)
    print(json.dumps({"source": str(src), "format": fmt, "output": str(dst), "cells": len(table),
                      "epochs": table.epochs.tolist(), "bytes": dst.stat().st_size,
                      "seconds": round(time.perf_counter() - start, 3)}))
    return 0
