"""REINFORCE (Williams 1992) with a factorised categorical policy over the cell encoding.

The policy holds one logit pair per edge bit (21 Bernoulli variables) and three logits per
interior op (5 categorical variables). Each step samples a genotype (resampled until it is a
valid cell), evaluates its cell at the maximum budget and takes a policy-gradient step
``theta += lr * (r - b) * grad log pi(genotype)`` with the moving-average baseline
``b <- decay * b + (1 - decay) * r`` (initialised to the first reward). As in NAS-Bench-101's
experiments the reward is the objective itself; its advantage is divided by a moving standard
deviation (same decay) so the step size does not depend on the objective's scale.
"""

from __future__ import annotations

import numpy as np

from nb101.codec import NUM_EDGE_BITS, NUM_OP_SPOTS

from .base import Ask, Optimizer

__all__ = ["Reinforce"]


class Reinforce(Optimizer):
    """Parameters
    ----------
    learning_rate : float (default: 0.1)
    baseline_decay : float (default: 0.95)
    """

    name = "reinforce"

    def __init__(self, *, learning_rate: float = 0.1, baseline_decay: float = 0.95):
        self.learning_rate = learning_rate
        self.baseline_decay = baseline_decay

    def setup(self, problem):
        super().setup(problem)
        self.edge_logits_ = np.zeros(NUM_EDGE_BITS)
        self.op_logits_ = np.zeros((NUM_OP_SPOTS, 3))
        self._baseline = None
        self._var = None
        self._sample = None

    def _draw(self, size: int):
        p_edge = 1.0 / (1.0 + np.exp(-self.edge_logits_))
        bits = self.rng.random((size, NUM_EDGE_BITS)) < p_edge
        prob = np.exp(self.op_logits_ - self.op_logits_.max(1, keepdims=True))
        prob /= prob.sum(1, keepdims=True)
        u = self.rng.random((size, NUM_OP_SPOTS, 1))
        ops = (u > np.cumsum(prob, 1)[None]).sum(2).clip(0, 2)
        return bits, ops

    def ask(self) -> Ask:
        p = self.problem
        for _ in range(1000):
            bits, ops = self._draw(8)
            edges = (bits.astype(np.int64) << np.arange(NUM_EDGE_BITS)).sum(1).astype(np.uint32)
            cells = p.codec.decode(edges, ops.astype(np.int8))
            ok = np.flatnonzero(cells >= 0)
            if len(ok):
                i = ok[0]
                self._sample = (bits[i], ops[i])
                return Ask(p.project(cells[i : i + 1]), p.max_epochs)
        raise RuntimeError("REINFORCE policy produced no valid cell in 8000 draws")

    def tell(self, ask, values):
        r = float(values[0]) if len(values) and values[0] == values[0] else 0.0
        d = self.baseline_decay
        if self._baseline is None:
            self._baseline, self._var = r, 0.0
        adv = r - self._baseline
        scale = np.sqrt(self._var) + 1e-8 if self._var > 0 else 1.0
        step = self.learning_rate * np.clip(adv / scale, -5, 5)
        bits, ops = self._sample
        p_edge = 1.0 / (1.0 + np.exp(-self.edge_logits_))
        self.edge_logits_ += step * (bits - p_edge)
        prob = np.exp(self.op_logits_ - self.op_logits_.max(1, keepdims=True))
        prob /= prob.sum(1, keepdims=True)
        onehot = np.zeros_like(prob)
        onehot[np.arange(NUM_OP_SPOTS), ops] = 1.0
        self.op_logits_ += step * (onehot - prob)
        self._var = d * self._var + (1 - d) * adv * adv
        self._baseline = d * self._baseline + (1 - d) * r
