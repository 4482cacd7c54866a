"""`hpsearch data check`: what a dataset really holds, before a GPU hour is spent on it.

Sizes per split; label and group distributions with a warning for each class or group too small to
measure; exact and near duplicates within and across splits, and the validation/test examples that
leak from training; identical or near-identical texts with conflicting labels; personal data (by
type, with rows, never the data itself); annotator agreement. Each finding is a number a rule can be
set on (`--fail-on`, `dataset.check.fail_on`), so the check can gate CI (exit 1).

The report names rows (``train.jsonl row 12``), never prints a text: texts may hold personal data.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hpsearch.data._config import FAIL_RULES, DatasetConfig, parse_rule
from hpsearch.data._splits import Annotation, RawSplits, Split, duplicate_key

#: How many rows a report lists for one finding; the JSON holds all of them.
SHOWN = 5
#: 95% normal-approximation half-width of a proportion from n examples is at most this / sqrt(n).
Z_HALF = 1.96 * 0.5


@dataclass
class CheckReport:
    """Everything `hpsearch data check` found; `data` is what ``data_check.json`` holds."""

    data: dict[str, Any]
    crossed: list[str] = field(default_factory=list)  # the rules crossed, e.g. 'leakage: 3 > 0'

    @property
    def exit_code(self) -> int:
        return 1 if self.crossed else 0


def check_splits(raw: RawSplits, config: DatasetConfig, source: str, rules: list[str] | None = None) -> CheckReport:
    """Check the splits as read (before the section's options); `rules` (default: the section's
    ``check.fail_on``) say which findings fail the check."""
    limits = config.check
    splits = raw.splits
    data: dict[str, Any] = {
        "source": source,
        "columns": {"text": config.text_column, "label": config.label_column, "groups": config.group_columns,
                    "annotator": config.annotator_column, "split": config.split_column},
        "validation_held_out_by_seed": raw.seeded_validation,
        "test_held_out_by_seed": raw.seeded_test,
        "options": config.options(),
        "thresholds": limits.model_dump(exclude={"fail_on"}),
        "splits": {name: _sizes(split) for name, split in splits.items()},
    }
    data["small_classes"] = [
        {"split": name, "label": label, "n": n}
        for name, split in splits.items() for label, n in sorted(Counter(map(str, split.labels)).items(), key=_by_count)
        if n < limits.min_class_examples]
    data["small_groups"] = [
        {"split": name, "column": column, "group": group, "n": n, "half_width": round(Z_HALF / math.sqrt(n), 3)}
        for name, split in splits.items() if name != "train"
        for column, values in split.groups.items() for group, n in sorted(Counter(values).items(), key=_by_count)
        if n < limits.min_group_examples]
    data.update(_duplicates(splits, limits.near_duplicate_threshold))
    data["pii"] = _pii(splits)
    data["agreement"] = _agreement(raw.annotations)

    values = {
        "duplicates": sum(d["extra_copies"] for d in data["duplicates"]["within"].values()),
        "near_duplicates": data["near_duplicates"]["groups"],
        "leakage": sum(d["examples"] for d in data["leakage"].values()),
        "conflicts": data["conflicts"]["groups"],
        "pii": data["pii"]["examples"],
        "small_classes": len(data["small_classes"]),
        "small_groups": len(data["small_groups"]),
    }
    if data["agreement"] is not None:
        values["agreement"] = data["agreement"]["kappa"]
    data["values"] = values
    if any(config.options().values()):  # what the search will read: the options applied
        import copy

        from hpsearch.data._splits import apply_options

        applied = copy.deepcopy(dict(splits))
        data["options_applied"] = {"changed": apply_options(applied, config),
                                   "examples": {name: len(s) for name, s in applied.items()}}
    crossed = []
    checked = []
    for text in (limits.fail_on if rules is None else rules):
        name, limit = parse_rule(text)
        value = values.get(name)
        if name == "agreement":
            limit = limits.min_agreement if limit is None else limit
            hit = value is not None and value < limit
            checked.append({"rule": name, "value": value, "limit": limit, "crossed": hit})
            if hit:
                crossed.append(f"agreement: kappa {value:.3f} < {limit:g}")
            continue
        limit = 0 if limit is None else limit
        hit = value is not None and value > limit
        checked.append({"rule": name, "value": value, "limit": limit, "crossed": hit})
        if hit:
            crossed.append(f"{name}: {value} > {limit:g}")
    data["rules"] = checked
    data["exit_code"] = 1 if crossed else 0
    return CheckReport(data, crossed)


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return item[1], str(item[0])


def _sizes(split: Split) -> dict[str, Any]:
    return {"examples": len(split), "labels": dict(sorted(Counter(map(str, split.labels)).items())),
            "groups": {c: dict(sorted(Counter(v).items())) for c, v in split.groups.items()}}


def _duplicates(splits: dict[str, Split], threshold: float) -> dict[str, Any]:
    """Exact duplicates (same text, case and whitespace aside) within and across splits, near-duplicate
    groups (MinHash), leakage into validation/test and conflicting labels."""
    from hpsearch.data._dupes import near_clusters

    keys = {name: [duplicate_key(t) for t in split.texts] for name, split in splits.items()}
    within = {}
    for name, split in splits.items():
        rows: dict[str, list[str]] = {}
        for key, origin in zip(keys[name], split.origins):
            rows.setdefault(key, []).append(origin)
        groups = [r for r in rows.values() if len(r) > 1]
        within[name] = {"groups": len(groups), "extra_copies": sum(len(r) - 1 for r in groups),
                        "rows": sorted(groups, key=len, reverse=True)}
    names = list(splits)
    across = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            shared = set(keys[names[a]]) & set(keys[names[b]])
            across.append({"splits": [names[a], names[b]], "texts": len(shared)})

    texts: list[str] = []
    where: list[tuple[str, int]] = []
    for name, split in splits.items():
        texts += split.texts
        where += [(name, i) for i in range(len(split))]
    clusters = near_clusters(texts, threshold)

    def origin_of(i: int) -> str:
        name, j = where[i]
        return splits[name].origins[j]

    def label_of(i: int) -> str:
        name, j = where[i]
        return str(splits[name].labels[j])

    def key_of(i: int) -> str:
        name, j = where[i]
        return keys[name][j]

    near = [c for c in clusters if len({key_of(i) for i in c}) > 1]
    leakage: dict[str, dict[str, Any]] = {}
    train_keys = set(keys.get("train", []))
    for name in ("validation", "test"):
        if name not in splits:
            continue
        exact = [i for i, k in enumerate(keys[name]) if k in train_keys]
        nearly: list[int] = []
        for cluster in clusters:
            if not any(where[i][0] == "train" for i in cluster):
                continue
            nearly += [j for s, j in (where[i] for i in cluster) if s == name and keys[name][j] not in train_keys]
        leakage[name] = {"examples": len(exact) + len(set(nearly)), "exact": len(exact), "near": len(set(nearly)),
                         "rows": [splits[name].origins[i] for i in sorted({*exact, *nearly})]}
    conflicts = [c for c in clusters if len({label_of(i) for i in c}) > 1]
    return {
        "duplicates": {"within": within, "across": across},
        "near_duplicates": {"threshold": threshold, "groups": len(near),
                            "rows": [[origin_of(i) for i in c] for c in near]},
        "leakage": leakage,
        "conflicts": {"groups": len(conflicts),
                      "exact_groups": sum(1 for c in conflicts if len({key_of(i) for i in c}) == 1),
                      "rows": [[f"{origin_of(i)} ({label_of(i)})" for i in c] for c in conflicts]},
    }


def _pii(splits: dict[str, Split]) -> dict[str, Any]:
    from hpsearch.data._pii import find_pii

    counts: Counter[str] = Counter()
    rows: dict[str, list[str]] = {}
    examples = 0
    for split in splits.values():
        for text, origin in zip(split.texts, split.origins):
            found = find_pii(text)
            examples += bool(found)
            for f in found:
                counts[f.entity] += 1
                if origin not in rows.setdefault(f.entity, []):
                    rows[f.entity].append(origin)
    return {"examples": examples, "counts": dict(sorted(counts.items())), "rows": rows,
            "not_looked_for": "person names (presidio finds them only with a spaCy/NER model, which would be "
                              "downloaded; none is installed)"}


def _agreement(annotations: list[Annotation]) -> dict[str, Any] | None:
    """Cohen's kappa for two annotators (items both labelled), Fleiss' kappa for more (items with the
    most common number of ratings); None without an annotator column."""
    if not annotations:
        return None
    items: dict[tuple[str, str], dict[str, str]] = {}
    for a in annotations:
        items.setdefault((a.split, a.text), {})[a.annotator] = a.label
    annotators = sorted({a.annotator for a in annotations})
    if len(annotators) < 2:
        return {"annotators": len(annotators), "items": 0, "kappa": None, "method": "needs two or more annotators"}
    if len(annotators) == 2:
        from sklearn.metrics import cohen_kappa_score

        both = [v for v in items.values() if len(v) == 2]
        if not both:
            return {"annotators": 2, "items": 0, "kappa": None, "method": "no item labelled by both"}
        kappa = cohen_kappa_score([v[annotators[0]] for v in both], [v[annotators[1]] for v in both])
        return {"annotators": 2, "items": len(both), "kappa": _round(kappa), "method": "Cohen's kappa"}
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    raters, _ = Counter(len(v) for v in items.values() if len(v) > 1).most_common(1)[0] if any(
        len(v) > 1 for v in items.values()) else (0, 0)
    rated = [list(v.values()) for v in items.values() if len(v) == raters]
    if raters < 2 or not rated:
        return {"annotators": len(annotators), "items": 0, "kappa": None, "method": "no item labelled twice"}
    codes = {label: i for i, label in enumerate(sorted({y for r in rated for y in r}))}
    table, _ = aggregate_raters([[codes[y] for y in r] for r in rated])
    kappa = fleiss_kappa(table, method="fleiss")
    return {"annotators": len(annotators), "items": len(rated), "raters_per_item": raters, "kappa": _round(kappa),
            "method": "Fleiss' kappa"}


def _round(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def report_lines(report: CheckReport) -> list[str]:
    """The terminal report: one finding a line, rows shown up to SHOWN."""
    d = report.data
    out = [f"Data check of {d['source']}"]
    if "options_applied" in d:
        applied = d["options_applied"]
        out.append("options on load: " + ", ".join(f"{k} {v}" for k, v in applied["changed"].items())
                   + " (examples dropped or redacted); the search reads "
                   + ", ".join(f"{n} {applied['examples'][n]}" for n in applied["examples"])
                   + "; below, the data as read")
    for name, s in d["splits"].items():
        held = " (held out of train by seed)" if d.get(f"{name}_held_out_by_seed") else ""
        out.append(f"  {name}: {s['examples']} examples{held}; labels " + _counts(s["labels"]))
        for column, groups in s["groups"].items():
            out.append(f"    {column}: " + _counts(groups))
    for c in d["small_classes"]:
        out.append(f"warning: class {c['label']!r} has {c['n']} {c['split']} examples "
                   f"(< {d['thresholds']['min_class_examples']})")
    for g in d["small_groups"]:
        out.append(f"warning: group {g['group']!r} ({g['column']}) has {g['n']} {g['split']} examples "
                   f"(< {d['thresholds']['min_group_examples']}): its score is known to about ±{g['half_width']:.2f} "
                   "(95%), so the fairness gap's interval is at least that wide")
    dup = d["duplicates"]
    for name, w in dup["within"].items():
        out.append(f"duplicates in {name}: {w['groups']} text(s) occur more than once, {w['extra_copies']} extra "
                   "copies" + _rows([r[0] + f" (x{len(r)})" for r in w["rows"]]))
    for a in dup["across"]:
        out.append(f"texts in both {a['splits'][0]} and {a['splits'][1]}: {a['texts']} distinct")
    near = d["near_duplicates"]
    out.append(f"near duplicates (word 3-gram Jaccard >= {near['threshold']:g}, MinHash): {near['groups']} group(s) "
               "of texts that differ but barely" + _rows([", ".join(r[:3]) for r in near["rows"]]))
    applied = d.get("options_applied", {}).get("changed", {})
    for name, leak in d["leakage"].items():
        flag = "LEAKAGE: " if leak["examples"] else ""
        out.append(f"{flag}{name} examples whose text is in train: {leak['examples']} ({leak['exact']} exact, "
                   f"{leak['near']} near)" + _rows(leak["rows"]))
    if any(leak["examples"] for leak in d["leakage"].values()) and "drop_leaked" not in applied:
        out.append("  to train without those texts: dataset.drop_leaked: true (the training copies are dropped; "
                   "validation and test stay as they are)")
    conflicts = d["conflicts"]
    out.append(f"conflicting labels: {conflicts['groups']} group(s) of identical or near-identical texts with "
               f"different labels ({conflicts['exact_groups']} identical)"
               + _rows([", ".join(r[:3]) for r in conflicts["rows"]]))
    pii = d["pii"]
    out.append(f"personal data: {pii['examples']} example(s)" + (": " + ", ".join(
        f"{k} {v}" for k, v in pii["counts"].items()) if pii["counts"] else ""))
    for entity, rows in pii["rows"].items():
        out.append(f"  {entity} in" + _rows(rows).removeprefix(":"))
    out.append(f"  not looked for: {pii['not_looked_for']}")
    agreement = d["agreement"]
    if agreement is not None:
        kappa = "n/a" if agreement["kappa"] is None else f"{agreement['kappa']:.3f}"
        out.append(f"annotator agreement: {agreement['method']} {kappa} over {agreement['items']} item(s), "
                   f"{agreement['annotators']} annotator(s)")
    if d["rules"]:
        out.append("rules: " + "; ".join(
            f"{r['rule']} {'CROSSED' if r['crossed'] else 'ok'} ({r['value']})" for r in d["rules"]))
    if report.crossed:
        out.append(f"FAILED: {'; '.join(report.crossed)}")
    elif not d["rules"]:
        out.append("passed: no rule set, so findings are reported, not failed (--fail-on or dataset.check.fail_on "
                   "names the ones that fail the check)")
    else:
        out.append("passed")
    return out


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _rows(rows: list[str]) -> str:
    if not rows:
        return ""
    more = f", ... ({len(rows) - SHOWN} more)" if len(rows) > SHOWN else ""
    return ": " + "; ".join(rows[:SHOWN]) + more


def dataset_card(report: CheckReport) -> str:
    """DATASET_CARD.md: the check as Markdown, stored with the study and put in exported bundles."""
    d = report.data
    cols = d["columns"]
    lines = ["# Dataset card", "", f"Checked by `hpsearch data check` from `{d['source']}`.", "",
             f"- text column `{cols['text']}`, label column `{cols['label']}`"
             + (f", group column(s) {', '.join(f'`{g}`' for g in cols['groups'])}" if cols["groups"] else "")
             + (f", annotator column `{cols['annotator']}`" if cols["annotator"] else ""),
             "- options on load: " + ", ".join(f"{k} {'on' if v else 'off'}" for k, v in d["options"].items()),
             "", "## Splits", "", "| split | examples | labels |", "|---|---|---|"]
    lines += [f"| {n} | {s['examples']} | {_counts(s['labels'])} |" for n, s in d["splits"].items()]
    if any(s["groups"] for s in d["splits"].values()):
        lines += ["", "## Groups", "", "| split | column | groups |", "|---|---|---|"]
        lines += [f"| {n} | {c} | {_counts(g)} |" for n, s in d["splits"].items() for c, g in s["groups"].items()]
    lines += ["", "## Findings", ""]
    lines += [f"- {line}" for line in report_lines(report)[1:] if not line.startswith(("  ", "passed", "FAILED"))]
    lines += ["", f"**{'Failed: ' + '; '.join(report.crossed) if report.crossed else 'Passed'}** "
              f"(rules: {', '.join(r['rule'] for r in d['rules']) or 'none set'}).", "",
              "Rows are named, texts never shown: they may hold personal data.", ""]
    return "\n".join(lines)


__all__ = ["FAIL_RULES", "CheckReport", "check_splits", "dataset_card", "report_lines"]
