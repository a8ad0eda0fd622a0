"""AlphaX: neural architecture search with Monte Carlo tree search and a meta-DNN accuracy predictor.

Importing ``alphax`` imports neither torch nor mpi4py; the search space is pure numpy.
"""

from alphax.errors import AlphaXError, CheckpointError, ConfigError, DataError, OutOfDomainError
from alphax.spec import CellSpec, check_in_space, is_valid

__version__ = "0.1.0"
__all__ = ["AlphaXError", "CheckpointError", "ConfigError", "DataError", "OutOfDomainError",
           "CellSpec", "check_in_space", "is_valid", "__version__"]
