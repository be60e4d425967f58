"""Test-time compute: more accuracy from the same weights, each strategy counted in network calls.

``parse_spec("augment:k=4+noise:k=4,sigma=0.2,select=q")`` reads a spec (:mod:`.spec`);
:class:`TTCRunner` runs the candidates of a batch of puzzles (:mod:`.engine`, :mod:`.trajectories`,
:mod:`.augment`) and :mod:`.select` picks one. ``trm eval --ttc`` and ``trm solve --ttc`` use these, through
:mod:`trm.evaluation.ttc` and :meth:`trm.inference.solver.Solver.solve`.
"""

from trm.inference.ttc.engine import Candidates, TTCRunner, rule_verdicts
from trm.inference.ttc.spec import SELECTIONS, TTCSpec, TTCSpecError, parse_spec

__all__ = [
    "SELECTIONS",
    "Candidates",
    "TTCSpec",
    "TTCSpecError",
    "TTCRunner",
    "parse_spec",
    "rule_verdicts",
]
