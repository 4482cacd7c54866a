"""The study report: one self-contained HTML file (plotly.js inlined once, no network needed to open
it) with the study's provenance, the honest front in every projection, the hypervolume over trials,
parameter importances, the front beside the baselines and their F1 per class; where no fine-tuned
trial learned, that said first with what to change. PNG copies of the main plots beside it.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.report import _plots, _png
from hpsearch.report._advice import nothing_learned_advice
from hpsearch.report._classes import GAVE_UP, ClassF1, ClassRow, class_f1
from hpsearch.report._view import (
    View,
    baseline_label,
    ci_metrics,
    fmt,
    gather,
    group_columns,
    groups,
    hypervolume,
    importances,
    param_text,
)
from hpsearch.study import HonestFront, confirmed_lines, has_learned, stopped_early

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1400px; padding: 1rem 2rem 3rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.muted { color: #666; } .note { background: #fff6e0; border-left: 4px solid #e69f00; padding: .4rem .8rem; }
.plain { background: #fdecea; border-left: 4px solid #c0392b; padding: .4rem .8rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1.2rem; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1rem; }
.figure { border: 1px solid #eee; border-radius: 6px; padding: .3rem; min-width: 0; margin-bottom: 1rem; }
.figure h3 { font-size: .95rem; margin: .2rem .4rem; }
.tables { display: grid; grid-template-columns: minmax(0, 1fr); gap: 1rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border-bottom: 1px solid #e4e4e4; padding: .25rem .6rem; text-align: right; vertical-align: top; }
th { background: #f6f6f6; max-width: 10rem; } td { white-space: nowrap; }
td.text, th.text { text-align: left; } td small { color: #666; }
td.gave-up { background: #fdecea; color: #c0392b; font-weight: 600; }
tbody.baselines tr:first-child td { border-top: 2px solid #bbb; }
"""


def esc(value: Any) -> str:
    return html.escape(str(value))


def write_report(study: "optuna.Study", out_dir: Path) -> Path:
    """Write ``out_dir/<study_name>.html`` and PNG copies of its main plots; return the HTML's path."""
    import plotly.offline

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    view = gather(study)
    hv = hypervolume(view)
    imp = importances(view)
    pngs = _png.write_front_pngs(view, out_dir)
    if not isinstance(hv, str):
        pngs.append(_png.write_hypervolume_png(view, hv, out_dir))
    if not isinstance(imp, str):
        pngs.append(_png.write_importance_png(view, imp, out_dir))
    body = "\n".join([header(view), front_section(view), hypervolume_section(view, hv),
                      importance_section(view, imp), tables_section(view), files_section(pngs)])
    title = f"hpsearch report: {study.study_name}"
    page = (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{esc(title)}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<style>{STYLE}</style>\n'
            f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>\n</head>\n<body>\n{body}\n'
            "</body>\n</html>\n")
    path = out_dir / f"{_file_name(study.study_name)}.html"
    path.write_text(page, encoding="utf-8")
    return path


def _file_name(name: str) -> str:
    """The study name, safe as a file name (a study name may hold a slash or a space)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "study"


# --- header -----------------------------------------------------------------------------------------


def header(view: View) -> str:
    import optuna

    study = view.study
    trials = study.get_trials(deepcopy=False)
    states = [t.state for t in trials]
    words = {"FAIL": "failed"}
    counts = ", ".join(f"{states.count(s)} {words.get(s.name, s.name.lower())}"
                       for s in optuna.trial.TrialState if states.count(s))
    objectives = ", ".join(f"{n} ({'maximise' if up else 'minimise'})" for n, up in zip(view.names, view.maximize))
    confirming = _reruns(view)
    reruns = f" ({confirming} of them seed re-runs by hpsearch confirm)" if confirming else ""
    parts = [f"<h1>Study {esc(study.study_name)}</h1>",
             f'<p class="muted">Objectives: {esc(objectives)}</p>',
             "<p>Trials: " + esc(counts or "none") + ". Complete: " +
             esc(f"{len(view.tuned)} fine-tuned{reruns}, {len(view.baselines)} baseline(s); "
                 f"{len(view.front)} on the honest front (learned, feasible, Pareto-optimal).") + "</p>"]
    parts.append(nothing_learned(view))
    for line in (view.left_off, stopped_early(trials)):
        if line:
            parts.append(f'<p class="note">{esc(line)}</p>')
    confirmed = confirmed_lines(study)
    if confirmed:  # the figures below are each trial's one seed
        parts.append("<p>Confirmed over seeds (<code>hpsearch confirm</code>; export picks on these means):</p><ul>"
                     + "".join(f"<li>{esc(line)}</li>" for line in confirmed) + "</ul>")
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    if failed:
        items = "".join(f"<li>trial {t.number}: {esc(t.user_attrs.get('fail_reason', 'no reason recorded'))}</li>"
                        for t in failed[-5:])
        more = f" (the last 5 of {len(failed)})" if len(failed) > 5 else ""
        parts.append(f"<details><summary>Failed trials{more}</summary><ul>{items}</ul></details>")
    parts.append("<h2>Provenance</h2>" + provenance(view))
    return "\n".join(parts)


def _code(text: str) -> str:
    """`text` escaped, its backticked spans as ``<code>``."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(text))


def nothing_learned(view: View) -> str:
    """Where no fine-tuned trial learned: that, in one sentence, and what to change; else ""."""
    front = view.honest_front
    sentence = front.nothing_learned() if front else None
    if not sentence:
        return ""
    items = "".join(f"<li>{_code(line)}</li>" for line in nothing_learned_advice(view.study, front))
    return (f'<div class="plain" id="nothing-learned"><p><strong>{esc(sentence)}</strong></p>'
            f"<p>What to change:</p><ul>{items}</ul></div>")


def provenance(view: View) -> str:
    attrs = view.study.user_attrs
    space = attrs.get("space") if isinstance(attrs.get("space"), dict) else {}
    labels = attrs.get("labels")
    rows = [("dataset", attrs.get("dataset")), ("dataset fingerprint", attrs.get("dataset_fingerprint")),
            ("labels", ", ".join(map(str, labels)) if isinstance(labels, (list, tuple)) else labels),
            ("model", space.get("model")), ("space", space.get("name")), ("space file", attrs.get("space_file")),
            ("hpsearch version", attrs.get("hpsearch_version")),
            ("constraints", ", ".join(map(str, attrs.get("constraints") or [])) or "none" if "constraints" in attrs else None)]
    # a hub id's commits as the trials loaded them (two: a study an earlier hpsearch ran after its main moved)
    commits = Counter(str(t.user_attrs["model_revision"]) for t in view.tuned if t.user_attrs.get("model_revision"))
    rows += [("model commit" if i == 0 else "", f"{c} ({n} trial(s))") for i, (c, n) in enumerate(commits.items())]
    for i, (device, n, baselines) in enumerate(devices(view.tuned, view.baselines)):
        ran = ", ".join(part for part in (f"{n} trial(s)" if n else "",
                                          f"{baselines} baseline(s)" if baselines else "") if part)
        rows.append(("device" if i == 0 else "", f"{device} ({ran})"))
    cells = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v) if v not in (None, '') else '<span class=muted>not recorded</span>'}</dd>"
                    for k, v in rows)
    return f'<dl class="facts">{cells}</dl>'


def devices(trials: list["FrozenTrial"], baselines: list["FrozenTrial"] = ()) -> list[tuple[str, int, int]]:
    """The distinct devices the trials and the baselines ran on, each with how many of each ran there
    (most first)."""
    counts: dict[str, list[int]] = {}
    for t, kind in [(t, 0) for t in trials] + [(b, 1) for b in baselines]:
        device = t.user_attrs.get("device")
        if isinstance(device, dict):
            text = "; ".join(f"{k} {v}" for k, v in device.items() if v not in (None, ""))
        elif device:
            text = str(device)
        else:
            continue
        counts.setdefault(text, [0, 0])[kind] += 1
    return sorted(((text, n, b) for text, (n, b) in counts.items()), key=lambda row: -(row[1] + row[2]))


# --- figures ----------------------------------------------------------------------------------------


def _figure(title: str, div: str) -> str:
    return f'<div class="figure"><h3>{esc(title)}</h3>{div}</div>'


def front_section(view: View) -> str:
    parts = ["<h2>The front</h2>"]
    if not (view.tuned or view.baselines):
        return parts[0] + '<p class="note">No complete trials yet: there is no front to show.</p>'
    parts.append('<p class="muted">Every pair of objectives. Grey: fine-tuned trials; blue: the honest Pareto '
                 "front, joined where no other front trial beats it on that pair; red crosses: trials that did not "
                 "beat the trivial predictors; orange triangles: trials that miss a constraint; labelled markers: "
                 "the baselines. Hover a point for its trial number and parameters.</p>")
    figures = [_figure(f"{y} vs {x}", _plots.to_div(fig)) for (x, y), fig in _plots.front_figures(view)]
    parts.append(f'<div class="grid">{"".join(figures)}</div>')
    fig3d = _plots.front_3d(view)
    if fig3d is not None:
        parts.append(_figure(f"{', '.join(view.names[:3])} in 3-D (drag to turn)", _plots.to_div(fig3d)))
    return "\n".join(parts)


def hypervolume_section(view: View, hv: Any) -> str:
    head = "<h2>Hypervolume over trials</h2>" + _reruns_left_out(view)
    if isinstance(hv, str):
        return head + f'<p class="note">{esc(hv)}</p>'
    return head + _figure("hypervolume", _plots.to_div(_plots.hypervolume_figure(view, hv)))


def importance_section(view: View, imp: Any) -> str:
    head = ("<h2>Parameter importances</h2><p class=\"muted\">fANOVA over the complete fine-tuned trials "
            "(baselines have no parameters), one bar per objective.</p>" + _reruns_left_out(view))
    if isinstance(imp, str):
        return head + f'<p class="note">{esc(imp)}</p>'
    return head + _figure("importances", _plots.to_div(_plots.importance_figure(imp)))


def _reruns(view: View) -> int:
    """How many of the fine-tuned trials are seed re-runs by ``confirm``."""
    return len(view.tuned) - len(view.searched)


def _reruns_left_out(view: View) -> str:
    reruns = _reruns(view)
    return (f'<p class="muted">The {reruns} seed re-run(s) by <code>hpsearch confirm</code> are left out: the same '
            "parameters again, never on the front themselves.</p>") if reruns else ""


def files_section(pngs: list[Path]) -> str:
    if not pngs:
        return ""
    links = ", ".join(f'<a href="{esc(p.name)}">{esc(p.name)}</a>' for p in pngs)
    return f'<p class="muted">PNG copies beside this file: {links}.</p>'


# --- tables -----------------------------------------------------------------------------------------


def tables_section(view: View) -> str:
    shown = view.front + view.baselines
    cis = [m for m in ci_metrics(shown) if m not in view.names]
    columns = group_columns(shown)
    parts = ["<h2>The front and the baselines</h2>", baseline_verdict(view)]
    front = table(view, view.front, cis, columns) if view.front else (
        '<p class="note">No fine-tuned trial is on the honest front.</p>')
    base = table(view, view.baselines, cis, columns) if view.baselines else (
        '<p class="muted">This study has no baseline trials.</p>')
    parts.append(f'<div class="tables"><div><h3>Honest front ({len(view.front)} trial(s))</h3>{front}</div>'
                 f'<div><h3>Baselines ({len(view.baselines)})</h3>{base}</div></div>')
    parts.append(classes_section(class_f1(view.study, view.front, view.baselines)))
    return "\n".join(parts)


def classes_section(data: ClassF1 | None) -> str:
    """F1 per class of the front, then the baselines; a class a trial gave up marked (class gave-up, ✗)."""
    if data is None:
        return ""
    heads = "".join(f"<th>{esc(label)}</th>" for label in ["trial", *data.labels]) + '<th class="text">gave up</th>'

    def rows(chunk: list[ClassRow]) -> str:
        out = []
        for row in chunk:
            name = f"{row.trial.number} <small>{esc(row.baseline)}</small>" if row.baseline else str(row.trial.number)
            cells = [f"<td>{name}</td>"]
            for label, v in row.values.items():
                if v is None:
                    cells.append('<td class="muted">–</td>')
                elif v < GAVE_UP:
                    cells.append(f'<td class="gave-up" title="gave up {esc(label)}">{v:.2f} ✗</td>')
                else:
                    cells.append(f"<td>{v:.2f}</td>")
            cells.append(f'<td class="text">{esc(", ".join(row.gave_up)) or "–"}</td>')
            out.append(f"<tr>{''.join(cells)}</tr>")
        return "".join(out)

    body = f"<tbody>{rows(data.front)}</tbody>" if data.front else ""
    body += f'<tbody class="baselines">{rows(data.baselines)}</tbody>' if data.baselines else ""
    return (f"<h3>{esc(data.title())}</h3>"
            f'<p class="muted">One row per trial on the front, then the baselines; a class a trial gave up '
            f"(F1 below {GAVE_UP:g}) is marked ✗ in red: the macro average hides it. {esc(data.note())}</p>"
            f'<div class="scroll"><table class="classes"><thead><tr>{heads}</tr></thead>{body}</table></div>')


def _with_ci(trial: "FrozenTrial", name: str, value: Any) -> str:
    """The value, and under it its 95% confidence interval where the trial stores one (escaped HTML)."""
    low, high = trial.user_attrs.get(f"{name}_ci_low"), trial.user_attrs.get(f"{name}_ci_high")
    text = esc(fmt(value)) if value is not None else "–"
    if low is not None and high is not None:
        text += f"<br><small>[{esc(fmt(low))}, {esc(fmt(high))}]</small>"
    return text


def table(view: View, trials: list["FrozenTrial"], cis: list[str], columns: list[str]) -> str:
    """Objectives (with their CI where stored), the other CI metrics, set-up, per-group macro-F1."""
    heads = ["trial"] + [f"{n} {'↑' if up else '↓'}" for n, up in zip(view.names, view.maximize)]
    heads += [f"{m} [95% CI]" for m in cis] + ["set-up"] + [f"macro-F1 by {c}" for c in columns]
    rows = []
    for t in trials:
        cells = [f"<td>{t.number}</td>"]
        cells += [f"<td>{_with_ci(t, n, v)}</td>" for n, v in zip(view.names, t.values or [])]
        cells += [f"<td>{_with_ci(t, m, t.user_attrs.get(m))}</td>" for m in cis]
        cells.append(f'<td class="text">{"<br>".join(esc(p) for p in param_text(t)) or "–"}</td>')
        by_group = groups(t)
        for c in columns:
            values = by_group.get(c, {})
            text = "<br>".join(esc(f"{g}: {fmt(v)}") for g, v in sorted(values.items()))
            cells.append(f'<td class="text">{text or "–"}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    text_from = len(heads) - len(columns) - 1  # the set-up and group columns read left to right
    head = "".join(f"<th{' class=text' if i >= text_from else ''}>{esc(h).replace('_', '_<wbr>')}</th>"
                   for i, h in enumerate(heads))  # long metric names wrap at their underscores
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def baseline_verdict(view: View) -> str:
    """One plain line per objective on which a baseline beats every trial on the front."""
    if not view.baselines:
        return ""
    if not view.front:
        if not any(has_learned(b) for b in view.baselines):
            return '<p class="plain">No fine-tuned trial is on the honest front, and no baseline learned.</p>'
        return ('<p class="plain">No fine-tuned trial is on the honest front: on this study the baselines '
                "are the only models that learned.</p>")
    lines = [f"On {view.names[i]}, the baseline {baseline_label(b)} (trial {b.number}: {fmt(b.values[i])}) "
             f"beats every trial on the front (best: trial {best.number}, {fmt(best.values[i])})."
             for b, i, best in HonestFront(view.front, view.baselines).baseline_wins(view.maximize)]
    if not lines:
        return '<p class="muted">No baseline beats the best front trial on any objective.</p>'
    return "".join(f'<p class="plain">{esc(line)}</p>' for line in lines)
