"""PNG copies of the report's main plots (matplotlib, Agg), for slides, tickets and CI artefacts.

Figures are built with ``matplotlib.figure.Figure`` directly, never through pyplot, so writing a
report changes no global backend or state of the process that asks for it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from hpsearch.report._plots import (
    BASELINE_STYLE,
    FRONT,
    GREY,
    INFEASIBLE,
    NOT_LEARNED,
    joined,
    projection_names,
    projections,
    reference_text,
)
from hpsearch.report._view import Hypervolume, View, baseline_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: plotly marker names and the matplotlib markers drawn for them.
_MARKERS = {"star": "*", "diamond": "D", "square": "s", "hexagon": "h"}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "objective"


def _title(view: View, what: str) -> str:
    """A title naming the study; a ``$`` in its name stays a dollar sign, not mathtext."""
    return f"{view.study.study_name}: {what}".replace("$", r"\$")


def _figure(width: float = 7.0, height: float = 5.0) -> "Figure":
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _plain(title: str) -> str:
    """An axis title as plotly got it (HTML-escaped), back to plain text."""
    import html

    return html.unescape(title)


def write_front_pngs(view: View, out_dir: Path) -> list[Path]:
    """One PNG per 2-D projection of the front: ``front_<x>_vs_<y>.png``."""
    written = []
    for (x_name, y_name), (x, y) in zip(projection_names(view), projections(view)):
        fig = _figure()
        ax = fig.add_subplot()
        ax.scatter([x.value(t) for t in view.others], [y.value(t) for t in view.others], c=GREY, s=30,
                   label="fine-tuned trials")
        if view.infeasible:
            ax.scatter([x.value(t) for t in view.infeasible], [y.value(t) for t in view.infeasible], marker="v",
                       facecolors="none", edgecolors=INFEASIBLE, s=40, label="misses a constraint")
        if view.not_learned:
            ax.scatter([x.value(t) for t in view.not_learned], [y.value(t) for t in view.not_learned], marker="x",
                       c=NOT_LEARNED, s=40, label="did not learn")
        if view.front:
            line = joined(view.front, x, y)
            ax.plot([x.value(t) for t in line], [y.value(t) for t in line], "-", color=FRONT, zorder=3)
            ax.plot([x.value(t) for t in view.front], [y.value(t) for t in view.front], "o", color=FRONT,
                    markersize=7, label="honest Pareto front", zorder=3)
        for t in view.baselines:
            label = baseline_label(t)
            symbol, color = BASELINE_STYLE.get(label, ("hexagon", "#17becf"))
            ax.scatter([x.value(t)], [y.value(t)], marker=_MARKERS.get(symbol, "h"), c=color, s=140, zorder=4,
                       label=f"baseline: {label}")
            ax.annotate(label, (x.value(t), y.value(t)), textcoords="offset points", xytext=(6, 6), color=color, fontsize=9)
        ax.set_xlabel(_plain(x.title))
        ax.set_ylabel(_plain(y.title))
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            unique = dict(zip(labels, handles))
            ax.legend(unique.values(), unique.keys(), fontsize=8, loc="best")
        else:
            ax.text(0.5, 0.5, "no complete trials", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(_title(view, f"{y_name} vs {x_name}"), fontsize=11)
        path = out_dir / f"front_{_safe(x_name)}_vs_{_safe(y_name)}.png"
        fig.savefig(path)
        written.append(path)
    return written


def write_hypervolume_png(view: View, hv: Hypervolume, out_dir: Path) -> Path:
    from matplotlib.ticker import MaxNLocator

    fig = _figure(7.0, 4.0)
    ax = fig.add_subplot()
    ax.step(hv.numbers, hv.values, where="post", color=FRONT)
    ax.plot(hv.numbers, hv.values, "o", color=FRONT, markersize=4)
    ax.set_xlabel("trial number")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # trial numbers are whole
    ax.set_ylabel("hypervolume")
    ax.set_title(_title(view, f"hypervolume of the honest front\n{reference_text(view, hv.reference)}"), fontsize=9)
    ax.grid(alpha=0.3)
    path = out_dir / "hypervolume.png"
    fig.savefig(path)
    return path


def write_importance_png(view: View, importances: dict[str, dict[str, float]], out_dir: Path) -> Path:
    params = sorted({p for imp in importances.values() for p in imp},
                    key=lambda p: max(imp.get(p, 0.0) for imp in importances.values()))
    fig = _figure(7.0, max(2.5, 0.45 * len(params) * max(1, len(importances)) * 0.6 + 1.2))
    ax = fig.add_subplot()
    height = 0.8 / max(1, len(importances))
    for k, (name, imp) in enumerate(importances.items()):
        ax.barh([i + k * height for i in range(len(params))], [imp.get(p, 0.0) for p in params], height=height,
                label=name)
    ax.set_yticks([i + height * (len(importances) - 1) / 2 for i in range(len(params))], params)
    ax.set_xlabel("importance (fANOVA)")
    ax.set_title(_title(view, "parameter importances"), fontsize=11)
    ax.legend(fontsize=8, loc="lower right")
    path = out_dir / "importances.png"
    fig.savefig(path)
    return path
