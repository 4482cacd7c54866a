"""`hpsearch init DATA`: a first space written from the data itself, each value with its reason.

    hpsearch init data/tickets.jsonl          # -> spaces/tickets.yaml, .search.yaml, .objectives.yaml
    hpsearch init data/tickets/ --text body --label kind --group region --out spaces/t.yaml --force

DATA: one JSONL/CSV file (split by seed), or a folder with train.jsonl|csv (and validation.*, test.*).
Label balance sets class weighting and sampling; token counts of 500 texts (p50, p90, p99) set the
`max_length` choices and `long_text`; text columns with 2..20 values, two of them on >= 5% of rows
each, are the groups; a CUDA GPU or none sets epochs and a cap on training rows. Nothing is written
until the space, the search preset and objectives file beside it, and the data all check out.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hpsearch.config import validate_model
from hpsearch.data import load_splits, read_rows, separator_hint
from hpsearch.errors import Problem, UserError
from hpsearch.plan._commented import Doc, flow, write_all
from hpsearch.plan._holdout import write_held_out
from hpsearch.plan._lengths import CPU_WINDOW_CAP, WINDOWS, windows_and_readings
from hpsearch.objectives import ObjectivesConfig
from hpsearch.plan._load import load_plan
from hpsearch.search import SearchConfig, check_sampler
from hpsearch.space import SpaceConfig, check_params, local_model, resolve_model

#: Learning rates that learn, per method: (low, high), searched on a log scale. The one table to tune.
#: Learning-rate ranges that learned, per method. LoRA, measured on legal_unfair_tos (MiniLM, 1,500 rows,
#: balanced class weights): 1e-3 learned (test macro-F1 0.24 after 4 epochs), 3e-3 predicted only the
#: majority class after its first epoch; engineering_issues learned at 3e-3 too (balanced labels).
LEARNING_RATES: dict[str, tuple[float, float]] = {"lora": (3e-4, 1.5e-3), "full": (1e-5, 1e-4), "head": (1e-3, 1e-2)}
LEARNING_RATE_WHY = {"lora": "LoRA trains new adapters from zero: larger steps than full fine-tuning, but above "
                             "~2e-3 imbalanced data collapses to the majority class",
                     "full": "full fine-tuning moves pretrained weights: small steps, or it forgets what it knew",
                     "head": "only the new classifier head learns, on frozen features: large steps"}
TRIALS, SAMPLED_TEXTS, CPU_TRAIN_CAP, CPU_EVAL_CAP = 12, 500, 2000, 1000
GROUP_VALUES, GROUP_SHARE = (2, 20), 0.05
SUFFIXES = (".jsonl", ".csv", ".json", ".ndjson", ".tsv")


@dataclass
class Written:
    """The three files `init_space` wrote, and what it found, one line each for the console."""

    space: Path
    search: Path
    objectives: Path
    summary: list[str] = field(default_factory=list)


@dataclass
class _Data:
    files: dict[str, Path]  # "path", or "train" (+ "validation", "test"): the training file first
    rows: dict[str, list[dict[str, Any]]]
    train: list[dict[str, Any]]  # the rows of the training file
    text: str = ""
    text_why: str = ""
    label: str = ""
    groups: list[str] = field(default_factory=list)
    not_groups: list[str] = field(default_factory=list)  # why each other column is not a group


def init_space(data: str | Path, *, out: str | Path | None = None, text: str | None = None,
               label: str | None = None, groups: list[str] | None = None, model: str = "minilm",
               method: str = "lora", max_train_examples: int | None = None, force: bool = False,
               gpu: bool | None = None) -> Written:
    """Write a space, its search preset and its objectives file for `data`; raise UserError (one
    line, nothing written) on bad input. `gpu`: None to ask torch whether there is a CUDA GPU."""
    data = Path(data)
    out = Path(out or Path("spaces") / f"{_name(data.resolve().name if data.is_dir() else data.stem)}.yaml")
    paths = Written(out, out.with_name(f"{out.stem}.search.yaml"), out.with_name(f"{out.stem}.objectives.yaml"))
    taken = ", ".join(str(p) for p in (paths.space, paths.search, paths.objectives) if p.exists())
    for flag, bad, why in [
        ("--out", out.suffix not in (".yaml", ".yml"), f"must end in .yaml, got {str(out)!r}"),
        ("--out", bool(taken) and not force, f"{taken} already exist(s); give --force to overwrite"),
        ("--max-train-examples", max_train_examples is not None and max_train_examples < 1,
         f"must be >= 1, got {max_train_examples}"),
    ]:
        if bad:
            raise UserError(Problem(flag, "", why))
    found = _read(data)
    _pick_columns(found, text, label)
    for flag, column in (("--text", found.text), ("--label", found.label), *(("--group", g) for g in groups or [])):
        _check_column(found, column, flag)
    found.groups = list(dict.fromkeys(groups)) if groups else _detect_groups(found)
    if gpu is None:
        import torch

        gpu = bool(torch.cuda.is_available())
    lengths, window_cap = _token_lengths(found, model)

    summary = ["data: " + ", ".join(f"{p.name} ({len(found.rows[k]):,} rows)" for k, p in found.files.items())
               + f"; text {found.text!r}, label {found.label!r}"]
    doc = Doc(f"hpsearch run {out}")
    doc.comment(f"Written by `hpsearch init {data}` from the data: each value says why. Edit freely; "
                f"`hpsearch validate {out}` checks it.")
    doc.put("name", _name(out.stem))
    local = local_model(model)  # a folder named from here is written from the space's folder, as the data is
    doc.put("model", _from_space(local, out) if local is not None else model)
    _dataset(doc, found, out, gpu, max_train_examples, summary)
    doc.put("search", paths.search.name, "how to search: sampler, trials (written beside this file)")
    doc.put("objectives", paths.objectives.name, "what to optimise (written beside this file)")
    doc.put("baselines", ["linear_probe", "tfidf"], "run once on the same splits: what fine-tuning must beat")
    fixed, params = Doc(indent=2), Doc(indent=2)
    _method(fixed, params, method, gpu, summary)
    _balance(fixed, params, found, summary)
    windows_and_readings(fixed, params, lengths, window_cap if gpu else min(window_cap, CPU_WINDOW_CAP), model,
                         summary, gpu)
    _pooling(fixed, model, summary)
    doc.lines += ["params:", *params.lines, "fixed:", *fixed.lines]

    texts = {paths.space: "\n".join(doc.lines) + "\n", **_side_files(paths, gpu, bool(found.groups))}
    _check_before_writing(texts, paths, found)
    write_all(texts)
    try:
        load_plan(paths.space)
    except UserError as exc:  # everything was checked before writing: a bug of ours (the files are left to see)
        raise RuntimeError(f"hpsearch init wrote a space that does not load: {exc}") from exc
    paths.summary = [*summary, f"wrote {paths.space}, {paths.search}, {paths.objectives}",
                     f"next: hpsearch run {paths.space}"]
    return paths


def _name(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).lstrip("-_.") or "space"


def _read(data: Path) -> _Data:
    """The files DATA names, read with hpsearch.data's reader (so a bad file reads the same)."""
    files = {"path": data} if data.is_file() else {}
    if data.is_dir():
        for key in ("train", "validation", "test"):
            hits = [data / f"{key}{s}" for s in SUFFIXES if (data / f"{key}{s}").is_file()]  # .jsonl first
            if hits:
                files[key] = hits[0]
        if "train" not in files:
            present = ", ".join(sorted(os.listdir(data))) or "nothing"
            raise UserError(Problem("DATA", "", f"{data}: a folder needs a train.jsonl or train.csv (and optionally "
                                    f"validation.* and test.*); found {present}"))
    elif not files:
        raise UserError(Problem("DATA", "", f"not found: {data}"))
    rows = {key: read_rows(path, "DATA", "") for key, path in files.items()}
    return _Data(files, rows, next(iter(rows.values())))


def _is_text(rows: list[dict[str, Any]], column: str) -> bool:
    return all(isinstance(r.get(column), str) and r[column].strip() for r in rows)


def _pick_columns(found: _Data, text: str | None, label: str | None) -> None:
    """`text` if present, else the text column with the longest mean; `label` if present."""
    columns = list(found.train[0])
    name = next(iter(found.files.values())).name
    if label is None and "label" not in columns:
        if hint := separator_hint(columns):  # not a missing label: the file is not comma-separated
            raise UserError(Problem("DATA", "", f"no column 'label' in {name} (columns: {', '.join(columns)}){hint}"))
        raise UserError(Problem("--label", "", f"no column 'label' in {name}; name the label column with --label "
                                f"(columns: {', '.join(columns)})"))
    found.label = label or "label"
    found.text, found.text_why = text or "text", "given (--text)" if text else "the column named text"
    if text is None and "text" not in columns:
        texts = [c for c in columns if c != found.label and _is_text(found.train, c)]
        if not texts:
            raise UserError(Problem("--text", "", f"no column holds text in every row of {name}; name it with "
                                    f"--text (columns: {', '.join(columns)})"))
        found.text = max(texts, key=lambda c: sum(len(r[c]) for r in found.train))
        found.text_why = (f"the longest text column: {sum(len(r[found.text]) for r in found.train) // len(found.train)}"
                          " characters on average")


def _check_column(found: _Data, column: str, flag: str) -> None:
    """Every file has `column`, with a value in every row: else one line at `flag`."""
    for key, rows in found.rows.items():
        name = found.files[key].name
        if column not in rows[0]:
            raise UserError(Problem(flag, "", f"column {column!r} is not in {name} (columns: {', '.join(rows[0])})"
                                    f"{separator_hint(list(rows[0]))}"))
        for i, row in enumerate(rows):
            if row.get(column) is None or (isinstance(row[column], str) and not row[column].strip()):
                raise UserError(Problem(flag, "", f"{name} row {i + 1} has no value in column {column!r}"))


def _detect_groups(found: _Data) -> list[str]:
    """Text columns with few values, at least two of them common; one column per way of splitting."""
    chosen: list[str] = []
    notes = found.not_groups
    for column in [c for c in found.train[0] if c not in (found.text, found.label)]:
        if not all(_is_text(rows, column) for rows in found.rows.values()):
            notes.append(f"{column} is not text in every row")
            continue
        values = [r[column] for r in found.train]
        counts = Counter(values)
        same = [g for g in chosen if len(set(zip(values, (r[g] for r in found.train)))) == len(counts)
                == len({r[g] for r in found.train})]
        if not GROUP_VALUES[0] <= len(counts) <= GROUP_VALUES[1]:
            notes.append(f"{column} has {len(counts):,} distinct value{'s' * (len(counts) != 1)}")
        elif sum(k >= GROUP_SHARE * len(values) for k in counts.values()) < 2:
            notes.append(f"{column} has fewer than two values on {GROUP_SHARE:.0%} of rows")
        elif same:
            notes.append(f"{column} splits the rows as {same[0]} does")
        else:
            chosen.append(column)
    return chosen


def _from_space(path: Path, out: Path) -> str:
    """`path` from the folder of the space at `out`; whole where they share only the root (not ../../../x)."""
    path, folder = path.resolve(), out.resolve().parent
    return str(path) if os.path.commonpath([path, folder]) == path.anchor else os.path.relpath(path, folder)


def _dataset(doc: "Doc", found: _Data, out: Path, gpu: bool, cap: int | None, summary: list[str]) -> None:
    section = Doc(indent=2)
    for key, path in found.files.items():
        section.put(key, _from_space(path, out), f"{len(found.rows[key]):,} rows")
    section.put("text_column", found.text, found.text_why)
    section.put("label_column", found.label, f"{len({str(r[found.label]) for r in found.train})} labels")
    groups, notes = found.groups, found.not_groups
    skipped = f" (not a group: {'; '.join(notes)})" if notes else ""
    if groups:
        sizes = Counter(str(r[groups[0]]) for r in found.train).most_common()
        shares = ", ".join(f"{v} {k / len(found.train):.0%}" for v, k in sizes)
        section.put("group_columns", groups, f"f1_gap compares {groups[0]}: {shares}{skipped}")
        summary.append(f"groups: {', '.join(groups)} ({len(sizes)} values){skipped}")
    else:
        section.comment(f"no group column found{skipped}: the objectives leave fairness out; name one with "
                        "group_columns, and add f1_gap to the objectives")
        summary.append(f"groups: none{skipped}")
    size, validation_share = write_held_out(section, found.files, found.train, found.label, summary)
    if cap is not None:
        section.put("max_train_examples", cap, f"given (--max-train-examples); the training split has {size:,} rows")
    elif not gpu and size > CPU_TRAIN_CAP:
        section.put("max_train_examples", CPU_TRAIN_CAP, f"no GPU here: each trial trains on {CPU_TRAIN_CAP:,} of "
                    f"the {size:,} training rows (stratified), so that {TRIALS} trials finish on a CPU; raise or drop "
                    "it on a GPU (hpsearch init --max-train-examples N writes another number)")
        summary.append(f"no GPU: training capped at {CPU_TRAIN_CAP:,} of {size:,} rows")
    held_out = (len(found.rows["validation"]) if "validation" in found.files
                else math.ceil(len(found.train) * validation_share))
    if not gpu and held_out > CPU_EVAL_CAP:
        section.put("max_eval_examples", CPU_EVAL_CAP, f"no GPU here: each trial's evaluation scores {CPU_EVAL_CAP:,} "
                    f"of the {held_out:,} validation rows (stratified; the test split too); drop it for tighter "
                    "per-group figures, at a full pass over every row per trial")
        summary.append(f"no GPU: evaluation capped at {CPU_EVAL_CAP:,} of {held_out:,} validation rows")
    section.put("seed", 0, "for the split and the subsample")
    doc.lines += ["dataset:", *section.lines]


def _method(fixed: "Doc", params: "Doc", method: str, gpu: bool, summary: list[str]) -> None:
    low, high = LEARNING_RATES[method]
    params.put("learning_rate", {"type": "float", "low": low, "high": high, "log": True},
               f"{LEARNING_RATE_WHY[method]}; log scale")
    if method == "lora":
        params.put("lora_r", {"type": "categorical", "choices": [8, 16]}, "adapter rank: 8 is usually enough")
        params.put("lora_alpha", {"type": "derived", "from": "lora_r", "times": 2}, "scale alpha / r = 2 for any r")
        params.put("target_modules", {"type": "categorical", "choices": ["attention", "attention+mlp"]},
                   "adapters on attention, or on the feed-forward layers too")
    epochs = (3, 8) if gpu else (3, 4)
    params.put("epochs", {"type": "int", "low": epochs[0], "high": epochs[1]},
               "a CUDA GPU was found: trials can afford more epochs" if gpu else "no GPU: a few epochs per trial")
    fixed.put("method", method, "given (--method)" if method != "lora" else "LoRA: cheap to train and to store")
    fixed.put("batch_size", 16, "a common size, fixed: the trials go to the knobs that matter more")
    fixed.put("warmup_ratio", 0.1, "10% of steps warm up: steadier starts at high learning rates")
    fixed.put("seed", 0, "one seed: trials differ only in what is searched")
    summary.append(f"hardware: {'a CUDA GPU' if gpu else 'no GPU'} -> method {method}, learning_rate "
                   f"{flow(low)}..{flow(high)}, epochs {epochs[0]}..{epochs[1]}")


def _balance(fixed: "Doc", params: "Doc", found: _Data, summary: list[str]) -> None:
    counts = Counter(str(r[found.label]) for r in found.train).most_common()
    (top, top_n), (rare, rare_n) = counts[0], counts[-1]
    ratio = top_n / rare_n
    shown = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}"
    facts = (f"{top_n / len(found.train):.0%} of rows are {top!r}; the rarest label {rare!r} has {rare_n:,} rows "
             f"(ratio {shown}:1)")
    if ratio >= 3:
        params.comment(f"{facts}: unweighted, a fine-tune collapses to the majority class; either draw "
                       "balanced batches or weight the loss by class (not both: that overcorrects)")
        params.put("sampling", {"type": "categorical", "choices": ["none", "balanced"]}, "balanced: rare labels drawn "
                   "as often as common ones")
        params.put("class_weighting", {"type": "categorical", "choices": ["balanced", "sqrt"], "when": {"sampling": "none"}},
                   "inverse frequency, or its square root")
        chosen = "sampling [none, balanced], class_weighting [balanced, sqrt] when sampling is none"
    elif ratio >= 1.5:
        params.comment(f"{facts}: mildly imbalanced, so no weighting or a mild one")
        params.put("class_weighting", {"type": "categorical", "choices": ["none", "sqrt"]})
        chosen = "class_weighting [none, sqrt]"
    else:
        fixed.comment(f"{facts}: balanced, nothing to weight")
        fixed.put("class_weighting", "none")
        chosen = "class_weighting none"
    summary.append(f"labels: {len(counts)}; {facts} -> {chosen}")


def _pooling(fixed: "Doc", model: str, summary: list[str]) -> None:
    """`pooling: mean` for a sentence-transformers model trained with mean pooling (its
    1_Pooling/config.json says so): its first-token state was never trained to be read."""
    config = Path(resolve_model(model, "--model", "")) / "1_Pooling" / "config.json"
    try:
        mean = bool(json.loads(config.read_text(encoding="utf-8")).get("pooling_mode_mean_tokens"))
    except (OSError, ValueError, AttributeError):
        return
    if mean:
        fixed.put("pooling", "mean", "a sentence-transformers model trained with mean pooling "
                  "(1_Pooling/config.json): read the mean of its token states, not its first token")
        summary.append(f"pooling: {model} was trained with mean pooling -> pooling mean")


def _token_lengths(found: _Data, model: str) -> tuple[list[int], int]:
    """Sorted token counts (special tokens included) of sampled training texts; the longest window to offer."""
    path = resolve_model(model, "--model", "")
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(Problem("--model", "", f"cannot load the tokenizer of {model!r}: {first}")) from None
    sample = random.Random(0).sample(found.train, min(SAMPLED_TEXTS, len(found.train)))
    ids = tokenizer([str(r[found.text]) for r in sample], truncation=False, verbose=False)["input_ids"]
    return sorted(map(len, ids)), int(min(getattr(tokenizer, "model_max_length", 0) or WINDOWS[-1], WINDOWS[-1]))


def _side_files(paths: Written, gpu: bool, groups: bool) -> dict[Path, str]:
    """The search preset and the objectives file the space names, beside it."""
    search = {"sampler": {"name": "gp_pool", "options": {"n_startup_trials": min(5, TRIALS // 2)}},
              "trials": TRIALS, "seed": 0, "max_concurrent_trials": 1 if gpu else 2,
              **({"gpus_per_trial": 1} if gpu else {})}
    at_once = ("one trial at a time on the GPU" if gpu else "two trials at a time, each on half the CPUs (more "
               "trials per hour than one on all of them; latency is timed with the machine to itself)")
    names = ["macro_f1", *(["f1_gap"] if groups else []), "latency_p50_ms"]
    objectives = [{"name": n, "direction": "maximize" if n == "macro_f1" else "minimize"} for n in names]
    gap = ", the F1 gap between groups down" if groups else " (no group column, so no fairness gap)"
    return {paths.search: f"# hpsearch validate {paths.search}\n# How to search {paths.space.name}: Gaussian processes and "
            f"expected hypervolume improvement (hpsearch's default), {at_once}.\n" + yaml.safe_dump(search, sort_keys=False),
            paths.objectives: f"# hpsearch validate {paths.objectives}\n# What {paths.space.name} optimises: "
            f"macro-F1 up, median latency down{gap}.\n" + yaml.safe_dump({"objectives": objectives}, sort_keys=False)}


def _check_before_writing(texts: dict[Path, str], paths: Written, found: _Data) -> None:
    """The three files against their schemas (else a bug of ours), then the data as the space reads it."""
    problems: list[Problem] = []
    loaded = {path: yaml.safe_load(text) for path, text in texts.items()}
    space = validate_model(SpaceConfig, loaded[paths.space], str(paths.space), problems)
    if space is not None:
        check_params(space, str(paths.space), problems)
    check_sampler(paths.search, validate_model(SearchConfig, loaded[paths.search], str(paths.search), problems),
                  problems)
    validate_model(ObjectivesConfig, loaded[paths.objectives], str(paths.objectives), problems)
    if problems or space is None:
        raise RuntimeError("hpsearch init generated an invalid file: " + "; ".join(map(str, problems)))
    absolute = space.dataset.model_copy(update={k: str(p.resolve()) for k, p in found.files.items()})
    load_splits(absolute, Path.cwd(), "DATA")
