"""Ranking quality of the meta-DNN: Kendall's tau-b, the one in :mod:`alphax.ranking`."""

from alphax.ranking import kendall_tau

__all__ = ["kendall_tau"]
