"""The report's interactive figures (plotly): the front in every 2-D projection of the objectives
and in 3-D, the hypervolume over trials and the parameter importances.

Every text that reaches a figure is HTML-escaped: plotly renders a subset of HTML in names, titles
and hover labels, and turns the escapes back into the characters they stand for.
"""

from __future__ import annotations

import html
import itertools
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from hpsearch.report._view import Hypervolume, View, baseline_label, dominates, fmt, param_text

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from optuna.trial import FrozenTrial

GREY = "#b4b4b4"
FRONT = "#1f5fbf"
NOT_LEARNED = "#c0392b"
INFEASIBLE = "#e69f00"
#: Marker and colour of each kind of baseline, by its label.
BASELINE_STYLE = {"TF-IDF + LR": ("star", "#2ca02c"), "linear probe": ("diamond", "#8e44ad"),
                  "head only": ("square", "#d35400")}
TEMPLATE = "plotly_white"
#: Legends go under the plot, clear of the mode bar and the data.
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.16, "x": 0, "font": {"size": 11}}



class Axis(NamedTuple):
    """One axis of a projection: its title, how to read it from a trial, and its direction (None:
    the trial number)."""

    title: str
    value: Callable[["FrozenTrial"], float]
    maximize: bool | None = None


def esc(text: Any) -> str:
    return html.escape(str(text), quote=False)


def axis_title(name: str, maximize: bool) -> str:
    return esc(f"{name} {'↑ higher is better' if maximize else '↓ lower is better'}")


def hover(trial: "FrozenTrial", names: list[str]) -> str:
    lines = [f"<b>trial {trial.number}</b>"]
    lines += [esc(f"{n} = {fmt(v)}") for n, v in zip(names, trial.values or [])]
    lines += [esc(p) for p in param_text(trial)]
    return "<br>".join(lines)


def projections(view: View) -> list[tuple[Axis, Axis]]:
    """Every pair of objectives; with a single objective, that objective against the trial number."""
    axes = [Axis(axis_title(n, up), lambda t, i=i: t.values[i], up)
            for i, (n, up) in enumerate(zip(view.names, view.maximize))]
    if len(axes) == 1:
        return [(Axis("trial number", lambda t: t.number), axes[0])]
    return list(itertools.combinations(axes, 2))


def projection_names(view: View) -> list[tuple[str, str]]:
    """The objective names of each projection, in the order of :func:`projections`."""
    if len(view.names) == 1:
        return [("trial", view.names[0])]
    return list(itertools.combinations(view.names, 2))


def joined(front: list["FrozenTrial"], x: Axis, y: Axis) -> list["FrozenTrial"]:
    """The front trials that no other front trial beats in this projection, along the x axis: the
    line that joins the front (a trial on a front of three objectives may be beaten in two)."""
    if x.maximize is None or y.maximize is None:
        return sorted(front, key=lambda t: (x.value(t), y.value(t)))
    points = [(x.value(t), y.value(t)) for t in front]
    keep = [t for t, p in zip(front, points) if not any(dominates(q, p, (x.maximize, y.maximize)) for q in points)]
    return sorted(keep, key=lambda t: (x.value(t), y.value(t)))


def _groups(view: View) -> list[tuple[str, list["FrozenTrial"], dict[str, Any]]]:
    """The trial sets every front view draws, with their legend names and marker styles."""
    sets = [
        ("fine-tuned trials", view.others, {"color": GREY, "symbol": "circle", "size": 8}),
        ("misses a constraint", view.infeasible, {"color": INFEASIBLE, "symbol": "triangle-down-open", "size": 10}),
        ("did not learn (beaten by trivial predictors)", view.not_learned,
         {"color": NOT_LEARNED, "symbol": "x-thin-open", "size": 11, "line": {"width": 2, "color": NOT_LEARNED}}),
        ("honest Pareto front", view.front, {"color": FRONT, "symbol": "circle", "size": 11,
                                             "line": {"width": 1, "color": "white"}}),
    ]
    return [s for s in sets if s[1]]


def _baseline_sets(view: View) -> list[tuple[str, list["FrozenTrial"]]]:
    by_label: dict[str, list["FrozenTrial"]] = {}
    for t in view.baselines:
        by_label.setdefault(baseline_label(t), []).append(t)
    return list(by_label.items())


def front_figure(view: View, x: Axis, y: Axis) -> "go.Figure":
    """One 2-D projection: all fine-tuned trials grey, the honest front highlighted and joined, the
    trials that did not learn and the baselines with their own markers."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if view.front:
        line = joined(view.front, x, y)
        fig.add_trace(go.Scatter(x=[x.value(t) for t in line], y=[y.value(t) for t in line], mode="lines",
                                 line={"color": FRONT, "width": 2}, showlegend=False, hoverinfo="skip"))
    for name, trials, marker in _groups(view):
        fig.add_trace(go.Scatter(
            x=[x.value(t) for t in trials], y=[y.value(t) for t in trials], name=esc(name), mode="markers",
            marker=marker, text=[hover(t, view.names) for t in trials], hovertemplate="%{text}<extra></extra>"))
    for label, trials in _baseline_sets(view):
        symbol, color = BASELINE_STYLE.get(label, ("hexagon", "#17becf"))
        fig.add_trace(go.Scatter(
            x=[x.value(t) for t in trials], y=[y.value(t) for t in trials], name=esc(f"baseline: {label}"),
            mode="markers+text", text=[esc(label)] * len(trials), textposition="top center",
            textfont={"color": color}, marker={"symbol": symbol, "color": color, "size": 14},
            customdata=[hover(t, view.names) for t in trials], hovertemplate="%{customdata}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, xaxis_title=x.title, yaxis_title=y.title, height=500,
                      margin={"l": 60, "r": 20, "t": 30, "b": 40}, legend=LEGEND_BELOW)
    return fig


def front_figures(view: View) -> list[tuple[tuple[str, str], "go.Figure"]]:
    """Every 2-D projection of the front, named by its (x, y) objectives."""
    return [(names, front_figure(view, x, y)) for names, (x, y) in zip(projection_names(view), projections(view))]


def front_3d(view: View) -> "go.Figure | None":
    """The first three objectives in 3-D; None with fewer than three objectives or no trials."""
    import plotly.graph_objects as go

    if len(view.names) < 3 or not (view.tuned or view.baselines):
        return None
    fig = go.Figure()
    point = lambda ts, i: [t.values[i] for t in ts]  # noqa: E731
    for name, trials, marker in _groups(view):
        # 3-D markers are a few plain shapes (an "x" is a font glyph a bare machine may lack).
        symbol = {"triangle-down-open": "square-open", "x-thin-open": "circle-open"}.get(marker["symbol"], "circle")
        marker = {"color": marker["color"], "symbol": symbol, "size": marker["size"] * 0.6}
        fig.add_trace(go.Scatter3d(x=point(trials, 0), y=point(trials, 1), z=point(trials, 2), mode="markers",
                                   name=esc(name), marker=marker, text=[hover(t, view.names) for t in trials],
                                   hovertemplate="%{text}<extra></extra>"))
    for label, trials in _baseline_sets(view):
        symbol, color = BASELINE_STYLE.get(label, ("circle", "#17becf"))
        fig.add_trace(go.Scatter3d(
            x=point(trials, 0), y=point(trials, 1), z=point(trials, 2), mode="markers+text",
            name=esc(f"baseline: {label}"), text=[esc(label)] * len(trials), textfont={"color": color},
            marker={"symbol": symbol if symbol in ("square", "diamond") else "cross", "color": color, "size": 7},
            customdata=[hover(t, view.names) for t in trials], hovertemplate="%{customdata}<extra></extra>"))
    # WebGL draws these with the machine's fonts: plain words, no arrows.
    titles = [esc(f"{n} ({'max' if up else 'min'})") for n, up in zip(view.names[:3], view.maximize[:3])]
    fig.update_layout(template=TEMPLATE, height=600, margin={"l": 0, "r": 0, "t": 30, "b": 0},
                      scene={"xaxis_title": titles[0], "yaxis_title": titles[1], "zaxis_title": titles[2]},
                      legend=LEGEND_BELOW)
    return fig


def reference_text(view: View, reference: list[float]) -> str:
    return "reference point: " + ", ".join(f"{n} = {fmt(r)}" for n, r in zip(view.names, reference))


def hypervolume_figure(view: View, hv: Hypervolume) -> "go.Figure":
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=hv.numbers, y=hv.values, mode="lines+markers", line={"shape": "hv", "color": FRONT},
                               name="hypervolume", hovertemplate="trial %{x}<br>hypervolume %{y:.4g}<extra></extra>"))
    title = (esc("Hypervolume of the honest front after each learned, feasible fine-tuned trial") + "<br><sup>"
             + esc(reference_text(view, hv.reference) + " (the worst observed value, 10% of the range beyond it)")
             + "</sup>")
    fig.update_layout(template=TEMPLATE, height=400, xaxis_title="trial number", yaxis_title="hypervolume",
                      margin={"l": 60, "r": 20, "t": 70, "b": 50}, title={"text": title, "font": {"size": 14}})
    span = max(hv.numbers, default=0) - min(hv.numbers, default=0)
    # trial numbers are whole: over a few trials plotly's own ticks would read 2, 2.2, 2.4, ...
    fig.update_xaxes(tickformat="d", **({"dtick": 1} if span <= 10 else {}))
    return fig


def importance_figure(importances: dict[str, dict[str, float]]) -> "go.Figure":
    """One bar group per parameter, one bar per objective."""
    import plotly.graph_objects as go

    params = sorted({p for imp in importances.values() for p in imp},
                    key=lambda p: -max(imp.get(p, 0.0) for imp in importances.values()))
    fig = go.Figure([go.Bar(y=[esc(p) for p in params], x=[imp.get(p, 0.0) for p in params], name=esc(name),
                            orientation="h", hovertemplate="%{y}: %{x:.3f}<extra>" + esc(name) + "</extra>")
                     for name, imp in importances.items()])
    fig.update_layout(template=TEMPLATE, barmode="group", height=max(260, 60 + 28 * len(params) * len(importances)),
                      xaxis_title="importance (fANOVA; each objective's importances sum to 1)",
                      yaxis={"autorange": "reversed"}, margin={"l": 140, "r": 20, "t": 30, "b": 60},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0})
    return fig


def to_div(fig: "go.Figure") -> str:
    """The figure as a ``<div>`` and the script that draws it, without plotly.js (the page holds it once)."""
    return fig.to_html(full_html=False, include_plotlyjs=False, default_width="100%",
                       default_height=f"{fig.layout.height}px" if fig.layout.height else "460px",
                       config={"displaylogo": False, "responsive": True})
