"""MODEL_CARD.md of an exported trial: the task, the data, every objective with its interval, the
groups, latency and where it was measured, the baselines beside it, the policy, the test split's
scores (measured once, after selection) and where it all came from."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.4g}"


def model_card(study: "optuna.Study", trial: "FrozenTrial", config: dict[str, Any], policy: str,
               test: dict[str, Any]) -> str:
    from hpsearch.study import baseline_trials, objective_names

    attrs = trial.user_attrs
    names = objective_names(study)
    space = study.user_attrs.get("space", {})
    dataset = space.get("dataset", {}) or {}
    groups = dataset.get("group_columns") or []
    labels = study.user_attrs.get("labels") or []
    lines = [
        f"# {study.study_name}: trial {trial.number}",
        "",
        f"Sequence classification into {len(labels)} labels ({', '.join(map(str, labels))}), fine-tuned from "
        f"`{attrs.get('model', space.get('model'))}` with method `{config.get('method')}`; picked from study "
        f"`{study.study_name}` by the policy `{policy}` on validation metrics.",
        "",
        "## Data",
        "",
        f"- {study.user_attrs.get('dataset', 'sizes not recorded')}",
        f"- fingerprint `{attrs.get('dataset_fingerprint', study.user_attrs.get('dataset_fingerprint'))}` (the "
        "normalised content of every split, with the options applied)",
        *(["- what the data holds (sizes, groups, duplicates, leakage, personal data): `DATASET_CARD.md`"]
          if study.user_attrs.get("dataset_card") else []),
        f"- text column `{dataset.get('text_column', 'text')}`, label column `{dataset.get('label_column', 'label')}`"
        + (f", group column(s) {', '.join(f'`{g}`' for g in groups)}" if groups else ""),
        "",
        "## Objectives (validation split)",
        "",
        "| objective | value | 95% interval |",
        "|---|---|---|",
    ]
    for name in names:
        base, slash, column = name.partition("/")
        low = attrs.get(f"{base}_ci_low{slash}{column}")
        high = attrs.get(f"{base}_ci_high{slash}{column}")
        interval = f"{_fmt(low)} – {_fmt(high)}" if low is not None and high is not None else "—"
        if interval != "—" and isinstance(attrs.get("confirmed_over_seeds"), dict):
            interval += f" (bootstrap, seed {config.get('seed')} alone)"
        lines.append(f"| {name} | {_fmt(attrs.get(name))} | {interval} |")
    confirmed = attrs.get("confirmed_over_seeds")
    if isinstance(confirmed, dict):
        lines += ["", f"Confirmed over seeds {', '.join(map(str, confirmed.get('seeds', [])))} (trials "
                  f"{', '.join(map(str, confirmed.get('trials', [])))}; `hpsearch confirm`): the values above are "
                  "the means, and the policy picked on them.", "", "| objective | mean | std | n |", "|---|---|---|---|"]
        lines += [f"| {name} | {_fmt(f['mean'])} | {_fmt(f['std'])} | {f['n']} |" for name, f in confirmed.items()
                  if isinstance(f, dict)]
    lines += ["", "## Per group (validation split)", ""]
    group_rows = sorted(k for k in attrs if k.startswith("group/") and k.endswith("/macro_f1"))
    if group_rows:
        lines += ["| group | macro-F1 | n |", "|---|---|---|"]
        for key in group_rows:
            group = key.removeprefix("group/").removesuffix("/macro_f1")
            lines.append(f"| {group} | {_fmt(attrs[key])} | {_fmt(attrs.get(f'group/{group}/n'))} |")
    else:
        lines.append("No group column was measured.")
    device = attrs.get("device")
    lines += [
        "", "## Latency and size", "",
        f"- latency p50 {_fmt(attrs.get('latency_p50_ms'))} ms, p95 {_fmt(attrs.get('latency_p95_ms'))} ms per "
        f"request; throughput {_fmt(attrs.get('throughput_per_s'))} examples/s; model {_fmt(attrs.get('model_size_mb'))} MB",
        f"- measured as: {json.dumps(attrs.get('latency_method'), sort_keys=True)}",
        f"- on: {json.dumps(device, sort_keys=True) if device else 'not recorded'} (compare timings on the same "
        "hardware only)",
        "", "## Baselines (same splits, same measurements)", "",
    ]
    baselines = baseline_trials(study)
    if baselines:
        lines += ["| baseline | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for b in baselines:
            lines.append(f"| {b.user_attrs.get('baseline')} | "
                         + " | ".join(_fmt(b.user_attrs.get(n)) for n in names) + " |")
    else:
        lines.append("The study holds no baseline.")
    lines += ["", "## Test split (measured once, after selection)", ""]
    if test:
        lines.append("These were not looked at to pick the trial; `test_metrics.json` holds them all. The "
                     "baselines beside it, scored on the same test split:")
        lines.append("")
        shown = [n for n in names if n in test] + [n for n in ("accuracy",) if n in test and n not in names]
        scored = [b for b in baselines if any(f"test/{n}" in b.user_attrs for n in shown)]
        lines += ["| metric | this trial | " + " | ".join(str(b.user_attrs.get("baseline")) for b in scored) + " |",
                  "|---" * (len(scored) + 2) + "|"]
        lines += [f"| {n} | {_fmt(test[n])} | " + " | ".join(_fmt(b.user_attrs.get(f"test/{n}")) for b in scored)
                  + " |" for n in shown]
    else:
        lines.append("The dataset has no test split.")
    from hpsearch.space import PACKAGED

    ref = str(attrs.get("model", space.get("model")))
    where = ([f"import {PACKAGED[ref][0]}", f"MODEL = {PACKAGED[ref][0]}.get_model_path()  # {PACKAGED[ref][1]}"]
             if ref in PACKAGED else [f"MODEL = {ref!r}"])
    pin = f", revision={attrs['model_revision']!r}" if attrs.get("model_revision") else ""  # the commit it trained on
    lines += ["", "## Loading it", "", "```python",
              "from peft import PeftModel",
              "from transformers import AutoModelForSequenceClassification, AutoTokenizer", *where,
              f"base = AutoModelForSequenceClassification.from_pretrained(MODEL{pin}, num_labels={len(labels)})"]
    if config.get("layers_kept"):
        lines.append(f"# trained on the bottom {config['layers_kept']} transformer layers: drop the others first")
    lines += ['model = PeftModel.from_pretrained(base, "adapter")' if config.get("method") == "lora"
              else "# method " + str(config.get("method")) + ": see adapter/ and config.yaml", "```", ""]
    notes = []
    if config.get("layers_kept"):
        notes.append(f"`layers_kept: {config['layers_kept']}`: the base keeps only its bottom "
                     f"{config['layers_kept']} layers")
    if config.get("pooling") == "mean":
        notes.append("`pooling: mean`: the classifier reads the masked mean of the last hidden states, not the "
                     "pooled first token")
    if config.get("quantization", "none") != "none":
        notes.append(f"`quantization: {config['quantization']}`, applied as: "
                     f"{attrs.get('quantization_applied', 'not recorded')}")
    if config.get("long_text", "head") != "head":
        notes.append(f"`long_text: {config['long_text']}`: a text longer than max_length is read in pieces")
    lines += [f"- {n}" for n in notes]
    lines.append("`hpsearch train` rebuilds all of this from `config.yaml`; by hand, these must match what was "
                 "trained and measured.")
    versions = attrs.get("versions", {})
    lines += [
        "", "## Configuration and provenance", "",
        "```json", json.dumps(config, indent=2, sort_keys=True), "```", "",
        f"- study `{study.study_name}`, trial {trial.number}, seed {config.get('seed')}",
        "- versions: " + (", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "not recorded"),
        f"- policy: `{policy}`",
        "",
    ]
    return "\n".join(lines)
