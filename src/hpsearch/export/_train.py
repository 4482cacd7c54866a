"""`hpsearch train BUNDLE --out OUT`: run an exported configuration again, as the training team would.

The bundle's `config.yaml` becomes a one-trial plan: every knob fixed to the exported value, the
bundle's data (or `--data`: another space's dataset section, or a JSONL/CSV/Parquet file or a
save_to_disk folder with the same columns), the study's objectives settings. The same trial runner
trains and measures it; OUT receives the adapter (``adapter/``), the merged model with its
tokenizer (``merged/``), ``metrics.json`` (validation and test scores beside the exported trial's)
and ``MODEL_CARD.md`` with a section on the retraining.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpsearch.errors import Problem, UserError
from hpsearch.export._bundle import BUNDLE_FORMAT, written_whole


def read_bundle(bundle: Path) -> dict[str, Any]:
    import yaml

    path = bundle / "config.yaml"
    if not path.is_file():
        raise UserError(Problem(str(bundle), "", "not an hpsearch bundle: it has no config.yaml "
                                "(write one with `hpsearch export`)"))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(Problem(str(path), "", f"not YAML: {str(exc).splitlines()[0]}")) from None
    if not isinstance(data, dict) or "config" not in data:
        raise UserError(Problem(str(path), "config", "missing: not an hpsearch bundle"))
    version = data.get("hpsearch_bundle")
    if not isinstance(version, int) or version > BUNDLE_FORMAT:
        raise UserError(Problem(str(path), "hpsearch_bundle", f"format {version!r} comes from a newer hpsearch; "
                                f"this one reads formats up to {BUNDLE_FORMAT}: upgrade hpsearch"))
    return data


def _plan(bundle: Path, data: dict[str, Any], override: str | None) -> Any:
    from hpsearch.objectives import ObjectivesConfig, default_objectives
    from hpsearch.plan import Plan, check_data_fits, load_plan
    from hpsearch.search import SearchConfig
    from hpsearch.space import SpaceConfig, check_params

    source = str(bundle / "config.yaml")
    section = dict((data.get("dataset") or {}).get("section") or {})
    base = str(bundle.resolve())
    if override is not None:
        given = Path(override).expanduser()
        if not given.exists():
            raise UserError(Problem("--data", "", f"no such file: {override}"))
        if given.suffix in (".yaml", ".yml"):
            other = load_plan(given, check_data=False)
            section, base = other.space.dataset.model_dump(), other.base_dir
        else:
            for key in ("demo", "hub", "train", "validation", "test"):
                section.pop(key, None)
            section["path"] = str(given.resolve())  # a file, or a folder save_to_disk wrote
    try:
        space = SpaceConfig.model_validate({"name": "retrain", "model": data.get("model", "minilm"),
                                            "model_revision": data.get("model_revision"),
                                            "dataset": section, "fixed": data["config"], "baselines": []})
        objectives = (ObjectivesConfig.model_validate(data["objectives"]) if data.get("objectives")
                      else default_objectives())
    except ValueError as exc:
        raise UserError(Problem(source, "", f"does not describe a trial hpsearch can run: {exc}")) from None
    problems: list[Problem] = []
    check_params(space, source, problems)
    plan = Plan(path=source, space=space, search=SearchConfig(), objectives=objectives, base_dir=base)
    problems.extend(check_data_fits(plan, gaps=False))  # a retrain reports the gaps it can measure
    if problems:
        raise UserError(problems)
    return plan


def _fetch_commit(plan: Any, source: str) -> None:
    """The hub commit the bundle's trial trained on, in the local cache: fetched where the cache lacks
    it and the hub answers (a training team's machine that never ran the study), else one line."""
    from hpsearch.space import resolve_model

    if plan.space.model_revision is not None:
        resolve_model(plan.space.model, source, base=plan.base_dir, revision=plan.space.model_revision, fetch=True)


def retrain(bundle: Path, out: Path, data_override: str | None = None, *, force: bool = False,
            say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train the bundle's configuration again and write OUT; return what metrics.json holds.
    `say` hears what is being done: the data, each epoch, the measuring and the writing."""
    bundle = bundle.expanduser()
    data = read_bundle(bundle)
    out = out.expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise UserError(Problem("--out", "", f"{out} exists and is not empty; give an empty or new directory, "
                                "or --force to replace it"))
    plan = _plan(bundle, data, data_override)
    _fetch_commit(plan, str(bundle / "config.yaml"))
    from hpsearch.trial import Worker

    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # 'Loading weights' bars: the epochs below say how it goes
    started = time.time()
    tell = say or (lambda line: None)
    worker = Worker(plan)
    tell(f"training trial {(data.get('provenance') or {}).get('trial')}'s configuration on {worker.splits.describe()}")

    def epoch(row: dict[str, float]) -> None:
        f1 = f", macro_f1 {row['macro_f1']:.3f}" if "macro_f1" in row else ""
        tell(f"[{time.time() - started:5.0f}s] epoch {row['epoch']:.0f}/{row['epochs']:.0f}: loss "
             f"{row['train_loss']:.3f}{f1}" + (", then measuring" if row["epoch"] == row["epochs"] else ""))

    result = worker.run(dict(data["config"]), report=epoch)
    test = {k.removeprefix("test/"): v for k, v in result.metrics.items() if k.startswith("test/")}
    validation = {k: v for k, v in result.metrics.items() if "/" not in k}
    original = (data.get("provenance") or {})
    metrics = {
        "bundle": str(bundle.resolve()), "data": data_override or "the bundle's",
        "trial": original.get("trial"), "study": original.get("study"),
        "validation": validation, "test": test,
        "exported_validation": data.get("validation", {}),
        "seconds": round(time.time() - started, 1),
    }
    if "macro_f1" in metrics["exported_validation"]:
        metrics["macro_f1_difference"] = validation["macro_f1"] - metrics["exported_validation"]["macro_f1"]
    tell(f"[{time.time() - started:5.0f}s] writing the adapter, the merged model and the card")
    with written_whole(out) as staging:
        _write(staging, bundle, data, worker, result, metrics)
    return metrics


def _write(root: Path, bundle: Path, data: dict[str, Any], worker: Any, result: Any, metrics: dict[str, Any]) -> None:
    from hpsearch.trial._artifact import unpack_trained

    if result.artifact is not None:
        kind, pack = result.artifact
        adapter = unpack_trained(pack, root / "adapter")
        if kind == "lora_adapter":
            from peft import PeftModel

            from hpsearch.trial._models import load_base

            _, base = load_base(worker.model_path, len(worker.splits.label_names))
            merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
            merged.config.id2label = dict(enumerate(worker.splits.label_names))
            merged.config.label2id = {n: i for i, n in enumerate(worker.splits.label_names)}
            merged.save_pretrained(root / "merged")
            worker.tokenizer.save_pretrained(root / "merged")
    (root / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n",
                                       encoding="utf-8")
    card = (bundle / "MODEL_CARD.md").read_text(encoding="utf-8") if (bundle / "MODEL_CARD.md").is_file() else ""
    shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics["validation"].items())
                      if k in ("macro_f1", "f1_gap", "latency_p50_ms", "accuracy"))
    card += ("\n## Retrained\n\n"
             f"Retrained with `hpsearch train` on {time.strftime('%Y-%m-%d')} ({metrics['data']} data, "
             f"{worker.splits.describe()}): validation {shown}"
             + (f"; macro-F1 {metrics['macro_f1_difference']:+.4f} against the exported trial"
                if "macro_f1_difference" in metrics else "")
             + ". `metrics.json` holds every figure.\n")
    (root / "MODEL_CARD.md").write_text(card, encoding="utf-8")
