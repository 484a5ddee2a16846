"""Untrusted: the justification search. See `match.py`."""
from .deep import split
from .match import Justification, certificate, justify, rewrites, unmet_conditions

__all__ = ["Justification", "certificate", "justify", "rewrites", "split", "unmet_conditions"]
