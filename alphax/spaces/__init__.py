"""Search spaces behind one interface."""

from alphax.spaces.base import SearchSpace
from alphax.spaces.nasbench101 import NASBench101Space
from alphax.spaces.nasbench201 import NASBench201Space

__all__ = ["SearchSpace", "NASBench101Space", "NASBench201Space"]
