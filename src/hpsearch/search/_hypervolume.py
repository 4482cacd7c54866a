"""Hypervolume improvement of many points at once: the region a front does not dominate, as boxes."""

from __future__ import annotations

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
