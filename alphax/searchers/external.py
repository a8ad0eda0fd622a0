"""Searchers of your own: ``--algo FILE.py:CLASS`` or ``--algo MODULE:CLASS``.

A researcher benchmarks a search algorithm of their own against AlphaX by naming its class where
``--algo`` (``alphax search``, ``run_server.py``) or ``--algos NAME=...`` (``alphax compare``) takes an
algorithm: the class is imported from the file (``PATH/TO/FILE.py:CLASS``) or from an importable module
(``PACKAGE.MODULE:CLASS``, installed or on ``PYTHONPATH``), and runs through the same loop, candidate
rule, run folder, checkpoints, comparison and report as the built-in searchers. It must subclass
:class:`alphax.searchers.base.Searcher` and take ``(space, *, rng, candidates=None, **options)``.

Importing a searcher runs its code, so it happens only where the command line names it: a new run, a
comparison, or a resume given the run's ``--algo`` again. ``config.json`` names it (a file by its
absolute path), but a resume without ``--algo`` refuses to import what a run folder names, and the
checkpoint's unpickler (:mod:`alphax.checkpoint`) rebuilds the classes of an external searcher's module
only once the command line has had it imported (:func:`trusted`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path

from alphax.errors import ConfigError

__all__ = ["is_external", "canonical", "class_name", "load", "trusted"]

_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_PREFIX = "alphax_user_"
"""A searcher file ``PATH/NAME.py`` is imported as the module ``alphax_user_NAME`` (never shadowing a
module of Python's or of a package: a file named ``random.py`` is not ``random``)."""

_TRUSTED: set[str] = set()
"""The modules of the external searchers this process imported because its command line named them."""


def is_external(algo: str) -> bool:
    """``algo`` names a class (``FILE.py:CLASS``, ``MODULE:CLASS``) rather than a built-in searcher."""
    return isinstance(algo, str) and ":" in algo


def _parts(algo: str) -> tuple[str, str]:
    target, _, name = algo.rpartition(":")
    form = "give FILE.py:CLASS (the file of your searcher) or MODULE:CLASS (an importable module)"
    if not name.isidentifier():
        raise ConfigError(f"--algo {algo}: {name!r} is not a class name; {form}")
    if not target.endswith(".py") and not _MODULE.fullmatch(target):
        raise ConfigError(f"--algo {algo}: {target!r} is neither a .py file nor a module name; {form}")
    return target, name


def canonical(algo: str | None) -> str | None:
    """``algo`` as a run records it: a file by its absolute path (so that a resume from another folder
    finds it), a module as given, a built-in searcher's name (or None) as it is. A :class:`ConfigError` for
    a malformed one. Imports nothing."""
    if not is_external(algo):
        return algo
    target, name = _parts(algo)
    if target.endswith(".py"):
        target = os.path.abspath(os.path.expanduser(target))
    return f"{target}:{name}"


def class_name(algo: str) -> str:
    """What names ``algo`` in a folder's name and a progress bar: the class's name for an external searcher."""
    return algo.rpartition(":")[2] if is_external(algo) else algo


def load(algo: str) -> type:
    """The searcher class ``algo`` names, imported (the module once per process). A :class:`ConfigError`
    that names what is wrong and the way out: no such file or module, an import that fails, no such class,
    a class that is no :class:`~alphax.searchers.base.Searcher`."""
    from alphax.searchers.base import Searcher

    target, name = _parts(algo)
    module = _from_file(algo, Path(target)) if target.endswith(".py") else _from_module(algo, target)
    cls = getattr(module, name, None)
    if cls is None:
        found = sorted(k for k, v in vars(module).items()
                       if isinstance(v, type) and issubclass(v, Searcher) and v is not Searcher)
        raise ConfigError(f"--algo {algo}: {target} has no {name}" +
                          (f"; its searchers: {', '.join(found)}" if found else
                           "; define a subclass of alphax.searchers.base.Searcher there"))
    if not (isinstance(cls, type) and issubclass(cls, Searcher)):
        raise ConfigError(f"--algo {algo}: {name} is not a searcher; subclass alphax.searchers.base.Searcher "
                          f"(implement _ask(n) and _tell(cell, result))")
    _TRUSTED.update({module.__name__, cls.__module__})
    return cls


def trusted(module: str, name: str) -> bool:
    """Whether the checkpoint of a run may rebuild ``module.name``: a class defined in the module of an
    external searcher this process imported because its command line named it (not whatever else the module
    holds, such as a module it imported)."""
    if module not in _TRUSTED or "." in name:
        return False
    obj = getattr(sys.modules.get(module), name, None)
    return isinstance(obj, type) and obj.__module__ == module


def _from_file(algo: str, path: Path):
    if not path.is_file():
        raise ConfigError(f"--algo {algo}: there is no file {path}; give the path of your searcher's .py file")
    name = _PREFIX + re.sub(r"\W", "_", path.stem)
    loaded = sys.modules.get(name)
    if loaded is not None:
        if os.path.samefile(loaded.__file__, path):
            return loaded
        raise ConfigError(f"--algo {algo}: a searcher file named {path.name} ({loaded.__file__}) is imported "
                          f"already; rename one of the two")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module          # before it runs: pickle and dataclasses look the module up by name
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - whatever the user's code raises (sys.exit too), in one line
        del sys.modules[name]
        raise ConfigError(f"--algo {algo}: importing {path} failed ({_one_line(exc)}); fix the file") from None
    return module


def _from_module(algo: str, target: str):
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (target == exc.name or target.startswith(exc.name + ".")):
            raise ConfigError(f"--algo {algo}: importing {target} failed ({_one_line(exc)})") from None
        raise ConfigError(f"--algo {algo}: there is no module {target} ({_one_line(exc)}); install it, put its "
                          f"folder on PYTHONPATH, or give its file: --algo PATH/TO/FILE.py:CLASS") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        raise ConfigError(f"--algo {algo}: importing {target} failed ({_one_line(exc)}); fix the module") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    where = ""
    tb = exc.__traceback__
    while tb is not None:           # the last frame: the user's line that raised
        where = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" at {exc.filename}:{exc.lineno}"
        text = exc.msg
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"
