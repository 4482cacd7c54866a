"""The models of ``_pool``: knob values as coordinates (``Encoder``) and a Gaussian process over them
(``GP``: Matern 5/2 over per-knob distances, Hamming for categorical knobs, one length scale per knob,
fitted by marginal likelihood with its analytic gradient), on the ranks of the values (``normal_scores``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from scipy.linalg import cho_solve, solve_triangular


class Encoder:
    """Knob values to the model's coordinates: categorical knobs by their choice's index (the kernel
    compares them as equal or not), numbers in [0, 1] on their scale (log where the distribution is)."""

    def __init__(self, names: list[str], dists: list[BaseDistribution]) -> None:
        self.names, self.dists = names, dists
        self.groups = [isinstance(d, CategoricalDistribution) for d in dists]

    def sizes(self) -> list[int] | None:
        out = []
        for d in self.dists:
            if isinstance(d, CategoricalDistribution):
                out.append(len(d.choices))
            elif isinstance(d, IntDistribution) and not d.log:
                out.append((d.high - d.low) // d.step + 1)
            else:
                return None
        return out

    def index(self, params: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for n, d in zip(self.names, self.dists):
            v = params[n]
            if isinstance(d, CategoricalDistribution):
                out.append(d.choices.index(v))
            elif isinstance(d, IntDistribution) and not d.log:
                out.append((v - d.low) // d.step)
            else:
                out.append(self._unit(d, v))
        return out

    def random_index(self, rng: np.random.RandomState, n: int) -> np.ndarray:
        """`n` random configurations, as `index` gives them (rows)."""
        columns = []
        for d in self.dists:
            if isinstance(d, CategoricalDistribution):
                columns.append(rng.randint(len(d.choices), size=n))
            elif isinstance(d, IntDistribution) and not d.log:
                columns.append(rng.randint((d.high - d.low) // d.step + 1, size=n))
            else:
                columns.append(rng.rand(n))
        return np.column_stack(columns).astype(float)

    @staticmethod
    def _unit(d: BaseDistribution, v: float) -> float:
        assert isinstance(d, (FloatDistribution, IntDistribution))
        if d.log:
            return (math.log(v) - math.log(d.low)) / max(math.log(d.high) - math.log(d.low), 1e-12)
        return (v - d.low) / max(d.high - d.low, 1e-12)

    def encode(self, params: list[dict[str, Any]]) -> np.ndarray:
        return self.from_index(np.array([self.index(p) for p in params], dtype=float))

    def from_index(self, index: np.ndarray) -> np.ndarray:
        x = np.array(index, dtype=float)
        for j, d in enumerate(self.dists):
            if isinstance(d, IntDistribution) and not d.log:
                x[:, j] = x[:, j] / max((d.high - d.low) // d.step, 1)
        return x

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for v, n, d in zip(x, self.names, self.dists):
            if isinstance(d, CategoricalDistribution):
                out[n] = d.choices[int(round(v))]
            elif isinstance(d, IntDistribution):
                if d.log:
                    raw = math.exp(math.log(d.low) + v * (math.log(d.high) - math.log(d.low)))
                else:
                    raw = d.low + v * (d.high - d.low)
                out[n] = int(min(max(d.low + round((raw - d.low) / d.step) * d.step, d.low), d.high))
            else:
                assert isinstance(d, FloatDistribution)
                raw = (math.exp(math.log(d.low) + v * (math.log(d.high) - math.log(d.low))) if d.log
                       else d.low + v * (d.high - d.low))
                if d.step is not None:
                    raw = d.low + round((raw - d.low) / d.step) * d.step
                out[n] = float(min(max(raw, d.low), d.high))
        return out


class GP:
    """A Gaussian process with a Matern-5/2 kernel over per-knob distances (Hamming for categorical
    knobs), its length scales, signal and noise fitted by maximising the marginal likelihood."""

    def __init__(self, x: np.ndarray, y: np.ndarray, groups: list[bool], theta: np.ndarray) -> None:
        self.x, self.groups, self.theta = x, np.array(groups), theta
        self.mu, self.sd = float(np.mean(y)), float(np.std(y)) or 1.0
        z = (y - self.mu) / self.sd
        k = self._k(x, x) + (np.exp(theta[-1]) + 1e-6) * np.eye(len(x))
        self.chol = np.linalg.cholesky(k)
        self.alpha = cho_solve((self.chol, True), z, check_finite=False)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, groups: list[bool], last: np.ndarray | None = None) -> "GP":
        """Fitted from the default hyperparameters and from `last` (the previous fit's), where given:
        the better of the two (the previous optimum alone can hold on to a poor local one)."""
        from scipy.optimize import minimize

        z = (y - np.mean(y)) / (np.std(y) or 1.0)
        own = distances(x, x, np.array(groups)).astype(float)
        model = cls.__new__(cls)
        model.x, model.groups = x, np.array(groups)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            """The negative log marginal likelihood (with a prior keeping length scales near the
            knobs' ranges) and its gradient."""
            n, dims = len(x), x.shape[1]
            inv = np.exp(-2.0 * theta[:dims])  # 1 / length scale ** 2
            r = np.sqrt(5.0 * np.tensordot(inv, own, axes=1))
            decay = np.exp(theta[-2]) * np.exp(-r)
            k = decay * (1.0 + r + r * r / 3.0) + (np.exp(theta[-1]) + 1e-6) * np.eye(n)
            try:
                chol = np.linalg.cholesky(k)
            except np.linalg.LinAlgError:
                return 1e10, np.zeros_like(theta)
            a = cho_solve((chol, True), z, check_finite=False)
            value = float(0.5 * z @ a + np.log(np.diag(chol)).sum() + np.sum(theta[:dims] ** 2) / 8.0)
            w = cho_solve((chol, True), np.eye(n), check_finite=False) - np.outer(a, a)
            shared = (5.0 / 3.0) * decay * (1.0 + r)  # d k / d theta_j = shared * inv_j * own_j
            grad = np.empty_like(theta)
            grad[:dims] = 0.5 * np.tensordot(own, w * shared, axes=([1, 2], [0, 1])) * inv + theta[:dims] / 4.0
            grad[-2] = 0.5 * float(np.sum(w * (k - (np.exp(theta[-1]) + 1e-6) * np.eye(n))))
            grad[-1] = 0.5 * float(np.trace(w)) * np.exp(theta[-1])
            return value, grad

        bounds = [(-4.0, 4.0)] * x.shape[1] + [(-3.0, 3.0), (-10.0, 1.0)]
        starts = [np.concatenate([np.zeros(x.shape[1]), [0.0, math.log(0.1)]])]
        if last is not None and len(last) == len(starts[0]):
            starts.append(last)
        fits = [minimize(loss, s, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 80}) for s in starts]
        return cls(x, y, groups, min(fits, key=lambda f: f.fun).x)

    def _k(self, a: np.ndarray, b: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
        """The kernel between rows of `a` and `b`; `d` their per-knob distances, when already known."""
        d = distances(a, b, self.groups) if d is None else d
        inv = np.exp(-2.0 * self.theta[: a.shape[1]]).astype(d.dtype)  # 1 / length scale ** 2
        r = np.sqrt(5.0 * np.tensordot(inv, d, axes=1))
        return np.exp(self.theta[-2]) * (1.0 + r + r * r / 3.0) * np.exp(-r)

    def predict(self, x: np.ndarray, d: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation at the rows of `x` (`d`: their distances to the training rows)."""
        ks = self._k(x, self.x, d)
        mean = ks @ self.alpha
        v = solve_triangular(self.chol, ks.T, lower=True, check_finite=False)
        var = np.maximum(np.exp(self.theta[-2]) - np.sum(v * v, axis=0), 1e-12)
        return self.mu + self.sd * mean, self.sd * np.sqrt(var)


def distances(a: np.ndarray, b: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per knob, the squared distance between every row of `a` and of `b` (0 or 1 for a category)."""
    d = np.empty((a.shape[1], len(a), len(b)), dtype=np.float32)
    for j in range(a.shape[1]):
        if groups[j]:
            d[j] = a[:, j, None] != b[None, :, j]
        else:
            d[j] = (a[:, j, None] - b[None, :, j]) ** 2
    return d


def normal_scores(y: np.ndarray) -> np.ndarray:
    """Each column by its rank, as standard normal quantiles (ties share their mean rank): a model of
    ranks is not thrown by the outliers of a table (a network that did not learn, a trial 10x slower)."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    n = len(y)
    return np.column_stack([ndtri((rankdata(y[:, k]) - 0.5) / n) for k in range(y.shape[1])])
