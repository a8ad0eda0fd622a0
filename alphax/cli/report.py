"""`alphax report DIR`: PNG plots and a text summary of a run folder or a compare folder."""

from __future__ import annotations

import argparse

from alphax.cli import path_arg

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="plots and a text summary of a run or compare folder",
                       description="Writes best_so_far.png, ranking.png (when the run logged meta-DNN "
                                   "predictions), best_cell.png and report.txt for a run folder "
                                   "(results.jsonl + config.json) or a compare folder (summary.json + run "
                                   "folders); for a compare folder also found.png (the share of seeds that had "
                                   "found the optimum by each sample), and in report.txt each algorithm ranked "
                                   "against the first, a seed that missed after every find.")
    p.add_argument("folder", type=path_arg, metavar="DIR", help="run folder or compare folder")
    p.add_argument("--out", type=path_arg, metavar="DIR", default=None,
                   help="where to write the report (default: DIR)")
    p.add_argument("--data", type=path_arg, metavar="PATH", default=None,
                   help="where the run's data is now, if it moved: a NASBench-101 table with several training "
                        "repeats per cell (its runs are measured by each cell's mean over them), or the NAS-Bench-201 "
                        "pickle a run was given with --data")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from alphax.report import write_report

    written = write_report(args.folder, out=args.out, data=args.data)
    for path in written:
        if path.endswith("report.txt"):
            with open(path) as f:
                print(f.read().rstrip())
    print("wrote " + ", ".join(written))
    return 0
