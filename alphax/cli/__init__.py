"""The ``alphax`` command. Each command group lives in its own module with ``add_parser(subparsers)``;
the chosen handler returns an exit code. An :class:`~alphax.errors.AlphaXError` becomes one line on
stderr and exit code 1; a bad option, one line and exit code 2."""

from __future__ import annotations

import argparse
import difflib
import errno
import importlib
import json
import logging
import os
import signal
import sys
import threading

from alphax.errors import AlphaXError, Interrupted

__all__ = ["main", "console_main", "ArgumentParser", "path_arg", "number_arg", "int_arg", "json_object_arg",
           "error_line", "run_script"]

_GROUPS = ("space", "nasbench", "search", "report")


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage dump) and exit code 2; the message is kept in
    ``error_message`` (the MPI entry points pass it on to the other processes of the job). Options are
    taken only in full: with argparse's abbreviations ``alphax compare --seed 3`` ran seeds 0-2 as
    ``--seeds 3``, and an option added later could change what an abbreviation in a script means."""

    error_message: str | None = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)        # the subcommands' parsers are of this class too
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras and not hasattr(namespace, _OWNER):    # a subcommand's parser returns first: it keeps them
            setattr(namespace, _OWNER, self)
        return namespace, extras

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an unrecognized option is refused by the (sub)command it was given to, with
        that command's help named and the nearest option it has (``--budjet``: did you mean --budget?)."""
        namespace, extras = self.parse_known_args(args, namespace)
        owner = vars(namespace).pop(_OWNER, self)
        if extras:
            owner.error(f"unrecognized arguments: {' '.join(extras)}{owner._nearest(extras)}")
        return namespace

    def _nearest(self, extras: list[str]) -> str:
        options = [o for o in self._option_string_actions if o.startswith("--")]
        for arg in extras:
            if arg.startswith("--"):
                close = difflib.get_close_matches(arg.split("=", 1)[0], options, n=1)
                if close:
                    return f"; did you mean {close[0]}?"
        return ""

    def error(self, message: str):
        self.error_message = f"{message} (see '{self.prog} --help')"
        self.exit(2, f"{self.prog}: error: {self.error_message}\n")


_OWNER = "_alphax_extras_owner"
"""The namespace attribute naming the parser whose arguments were left unrecognized."""


def path_arg(text: str) -> str:
    """An argparse ``type`` for a path option: an empty one (``--data ''``, often an unset shell variable)
    is refused instead of being read as "not given" and silently replaced by the default."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give a real path, or leave the option out for its default")
    return text


def number_arg(noun: str = "a number", *, zero: bool = True, most: float | None = None, why: str = ""):
    """An argparse ``type``: a finite number ``>= 0`` (``zero``) or ``> 0``, and at most ``most`` (``why``
    says why); ``noun`` names it in the error."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value >= 0 if zero else value > 0) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected {noun} {'>= 0' if zero else '> 0'}, got {text!r}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"expected {noun} of at most {most:g}{why}, got {text!r}")
        return value

    return parse


def int_arg(low: int = 1):
    """An argparse ``type``: an integer ``>= low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    return parse


def json_object_arg(text: str) -> dict:
    """An argparse ``type``: a JSON object (searcher options, ``'{"kappa": 3}'``)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object such as '{{\"kappa\": 3}}', got {text!r}")
    return value


def run_script(main, prog: str | None = None) -> int:
    """The exit code of a ``benchmarks/`` script's ``main()``: an :class:`~alphax.errors.AlphaXError` or an
    ``OSError`` (a missing table, an ``--out`` that is a file) is one line on stderr and 1, as for
    ``alphax``; Ctrl-C is 130."""
    prog = prog or os.path.basename(sys.argv[0])
    try:
        return main() or 0
    except (AlphaXError, OSError) as exc:
        print(error_line(exc, prog, verbose=False), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


_FULL_DISK_WAY_ON = {
    "search": "go on with alphax search --resume DIR (every result written is kept)",
    "compare": "run the same alphax compare command again (it continues the comparison)",
    "run_server.py": "resume with run_server.py --resume DIR (every result written is kept)",
}
"""Per command, what to do once space is freed after a full disk (default: run the command again)."""


def error_line(exc: BaseException, prog: str = "alphax", command: str | None = None, *, verbose: bool = True) -> str:
    """The one line ``alphax`` (or ``prog``) prints for an :class:`AlphaXError` or an ``OSError``;
    ``command`` (``search``, ``compare``, ...; ``prog`` when None) picks the way on after a full disk;
    ``verbose``: ``prog`` has ``-v``, which the line names for an ``OSError``."""
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        if exc.filename and exc.filename2:          # a rename: the error may be either side's
            where = f"{exc.filename} -> {exc.filename2}: "
        if exc.errno == errno.EEXIST and exc.filename and os.path.islink(exc.filename) and not os.path.exists(
                exc.filename):      # mkdir of a dangling link: "File exists" says nothing of the link
            return (f"{prog}: error: {exc.filename} is a symbolic link to {os.readlink(exc.filename)}, which does not "
                    f"exist; remove the link, or give another path")
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            way_on = _FULL_DISK_WAY_ON.get(command or prog, "run the command again")
            return f"{prog}: error: {where}{exc.strerror or exc}; free space there, then {way_on}"
        return (f"{prog}: error: {where}{exc.strerror or exc}; check the path and its permissions"
                f"{' (-v shows where it happened)' if verbose else ''}")
    return f"{prog}: error: {exc}"


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="alphax", description="AlphaX: neural architecture search with Monte Carlo tree "
                                                        "search and a meta-DNN accuracy predictor.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    parser.add_argument("--version", action=_Version,
                        help="print the version of AlphaX (and its commit), Python and the dependencies, then exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    for name in _GROUPS:
        module = importlib.import_module(f"alphax.cli.{name}")
        module.add_parser(sub)
    _verbose_everywhere(parser)
    return parser


class _Version(argparse.Action):
    """``--version``: the software line a run's ``log.txt`` records each time the run opens
    (``alphax.environment``), found out only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from alphax import environment

        print(environment.describe(environment.software()))
        parser.exit()


def _verbose_everywhere(parser: argparse.ArgumentParser) -> None:
    """``-v`` after any (sub)command too: ``alphax search -v`` as ``alphax -v search`` (SUPPRESS: a
    subcommand without it does not reset the top level's)."""
    for action in parser._actions:                 # noqa: SLF001 - argparse has no public walk of subparsers
        if isinstance(action, argparse._SubParsersAction):   # noqa: SLF001
            for command in set(action.choices.values()):
                command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                                     help="log at DEBUG level")
                _verbose_everywhere(command)


def _terminated(signum, frame) -> None:
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        # SIGTERM unwinds like Ctrl-C, so that a file being written (convert, a cache) removes its temp file;
        # a search installs its own handlers (checkpoint, then stop) for the length of the run
        old = signal.signal(signal.SIGTERM, _terminated)
    try:
        return _run(args)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, old)


def console_main(argv: list[str] | None = None) -> int:
    """The ``alphax`` command (and ``python -m alphax.cli``): :func:`main` as a process's whole life. A
    signal while the command loads (the parser, its modules) gives 130/143 as a later one does; once the
    exit status is decided and the output flushed, SIGINT and SIGTERM are ignored for the rest of the
    process, so that one arriving during interpreter shutdown, where Python resets its handlers to the
    default action, cannot replace that status with a silent death by the signal."""
    main_thread = threading.current_thread() is threading.main_thread()
    try:
        if main_thread:
            signal.signal(signal.SIGTERM, _terminated)
        code = main(argv)
        if main_thread:
            _ignore_stop_signals()
    except KeyboardInterrupt as exc:
        if main_thread:
            _ignore_stop_signals()
        code = _interrupted(exc)
    except SystemExit:                 # argparse's --help or its error: the status is decided too
        if main_thread:
            _ignore_stop_signals()
        raise
    return code


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _run(args: argparse.Namespace) -> int:
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()             # a reader that went away shows here, not in a message at exit
        return code
    except BrokenPipeError:            # `| head`: the reader has what it wanted; nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except (AlphaXError, OSError) as exc:   # OSError: a path that cannot be made or written (disk full, ...)
        if args.verbose and isinstance(exc, OSError):
            raise
        print(error_line(exc, command=getattr(args, "command", None)), file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        return _interrupted(exc)


def _interrupted(exc: KeyboardInterrupt) -> int:
    """Say which signal stopped the command; its exit status: SIGINT (Ctrl-C) 130, SIGTERM 143, as
    run_server.py and a killed process."""
    signum = getattr(exc, "signum", signal.SIGINT)
    print(f"alphax: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
    return 128 + signum


if __name__ == "__main__":
    sys.exit(console_main())
