"""Hypervolume improvement of many points at once, and its expectation where the points are uncertain:
the region a front does not dominate, as boxes."""

from __future__ import annotations

import math

import numpy as np


def nondominated_boxes(front: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The region below `ref` that `front` does not dominate, as boxes (lower, upper corners): the grid
    drawn through the front's coordinates on every axis but the last, each column of it reaching from
    minus infinity on the last axis up to the lowest front point that dominates the column's corner."""
    m = len(ref)
    inside = front[np.all(front < ref, axis=1)]
    edges = [np.concatenate([[-np.inf], np.unique(inside[:, k]), [ref[k]]]) for k in range(m - 1)]
    idx = np.array(list(np.ndindex(*[len(e) - 1 for e in edges])), dtype=np.int64).reshape(-1, m - 1)
    lower = np.column_stack([edges[k][idx[:, k]] for k in range(m - 1)] + [np.full(len(idx), -np.inf)])
    upper = np.column_stack([edges[k][idx[:, k] + 1] for k in range(m - 1)] + [np.full(len(idx), ref[-1])])
    if len(inside):
        covers = np.all(inside[None, :, : m - 1] <= lower[:, None, : m - 1], axis=2)  # column x point
        upper[:, -1] = np.min(np.where(covers, inside[None, :, -1], ref[-1]), axis=1)
    keep = upper[:, -1] > -np.inf
    return lower[keep], upper[keep]


def improvement(points: np.ndarray, cells: tuple[np.ndarray, np.ndarray], chunk: int = 20_000) -> np.ndarray:
    """Each point's hypervolume improvement: the volume of the non-dominated boxes it dominates."""
    lower, upper = cells
    out = np.empty(len(points))
    for s in range(0, len(points), chunk):
        p = points[s: s + chunk]
        side = upper[None, :, :] - np.maximum(lower[None, :, :], p[:, None, :])
        out[s: s + chunk] = np.prod(np.clip(side, 0.0, None), axis=2).sum(axis=1)
    return out


def expected_improvement(mean: np.ndarray, std: np.ndarray, cells: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Each point's expected hypervolume improvement where its objectives are independent normals
    (`mean`, `std`; one row per point), exactly: a point's improvement in one box is a product over the
    objectives of (u - max(l, y))+, so its expectation is the product of each objective's
    E[(u - max(l, Y))+] = (u - l) P(Y <= l) + (u - mu) P(l < Y < u) + sigma (pdf(b) - pdf(a)),
    a = (l - mu) / sigma, b = (u - mu) / sigma, summed over the boxes (Emmerich et al., 2006; no Monte
    Carlo noise between two close candidates)."""
    from scipy.special import ndtr

    lower, upper = cells
    out = np.zeros(len(mean))
    if len(lower) == 0:
        return out
    finite = np.isfinite(lower)
    width = np.where(finite, upper - np.where(finite, lower, 0.0), 0.0)
    chunk = max(1, 4_000_000 // (lower.size or 1))
    for s in range(0, len(mean), chunk):
        mu = mean[s: s + chunk, None, :]
        sigma = np.maximum(std[s: s + chunk, None, :], 1e-12)
        a = (np.where(finite, lower, 0.0) - mu) / sigma
        b = (upper - mu) / sigma
        cdf_a = np.where(finite, ndtr(a), 0.0)
        pdf_a = np.where(finite, np.exp(-0.5 * a * a), 0.0)
        side = (width * cdf_a + (upper - mu) * (ndtr(b) - cdf_a)
                + sigma * (np.exp(-0.5 * b * b) - pdf_a) / math.sqrt(2 * math.pi))
        out[s: s + chunk] = np.prod(np.clip(side, 0.0, None), axis=2).sum(axis=1)
    return out
