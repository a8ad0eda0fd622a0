"""run_client.py on a machine whose GPU fails to initialise: making the train evaluator raises a plain
RuntimeError (not an AlphaX error), as a CUDA initialisation failure does."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import run_client  # noqa: E402
import workers.train_evaluator  # noqa: E402


def _broken(self, *args, **kwargs):
    raise RuntimeError("CUDA error: initialization error (injected)")


workers.train_evaluator.TrainEvaluator.__init__ = _broken

if __name__ == "__main__":
    sys.exit(run_client.main())
