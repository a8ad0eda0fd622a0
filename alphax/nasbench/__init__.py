"""NASBench-101 offline: the official data files (no TensorFlow), the real subset and a compact file.

``NASBench101(path, seed=...)`` reads any of them and answers queries like the official API; the data is
found by :func:`resolve_data_path` (``--data``, ``$ALPHAX_NASBENCH101``, ``../shared/data/nasbench101``).
"""

from alphax.nasbench.api import QUERY_FIELDS, NASBench101
from alphax.nasbench.paths import default_data_path, resolve_data_path
from alphax.nasbench.table import Table

__all__ = ["NASBench101", "QUERY_FIELDS", "Table", "default_data_path", "resolve_data_path"]
