"""The meta-DNN: cell encodings, an ensemble MLP accuracy predictor, its training and ranking metrics.

Imports torch; ``alphax`` imports this package lazily (only the AlphaX searcher needs it).
"""

from meta_dnn.encoding import CellEncoder, Encoded, cell_paths
from meta_dnn.metrics import kendall_tau
from meta_dnn.model import EnsembleMLP
from meta_dnn.train import Predictor

__all__ = ["CellEncoder", "Encoded", "cell_paths", "kendall_tau", "EnsembleMLP", "Predictor"]
