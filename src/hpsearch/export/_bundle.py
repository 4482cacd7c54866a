"""`hpsearch export`: the trial a policy picks, written as a bundle a training team can run.

The bundle (written to a temporary directory beside OUT and renamed into place, so a failure
leaves nothing half-written):

* ``config.yaml``: the trial's full resolved configuration, model, dataset, policy and provenance;
* ``lora_config.json`` (LoRA trials), ``training_arguments.json`` and, when quantised,
  ``bitsandbytes_config.json``: keyword arguments of ``peft.LoraConfig``,
  ``transformers.TrainingArguments`` and ``transformers.BitsAndBytesConfig``;
* ``adapter/``: the trained adapter from the study's artifact store
  (``peft.PeftModel.from_pretrained(base, "adapter")``), or the trained head;
* ``MODEL_CARD.md``: what a reader needs before deploying it (``_card``);
* ``DATASET_CARD.md``: what the data held when the study began (`hpsearch data check`);
* ``test_metrics.json``: the picked trial's test-split scores, measured once, after selection.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.errors import Problem, UserError
from hpsearch.space import local_model

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

BUNDLE_FORMAT = 1
TEST_PREFIX = "test/"


class NothingQualifies(Exception):
    """No trial meets the policy: the lines say why (exit 1)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


def candidates(study: "optuna.Study") -> list["FrozenTrial"]:
    """The complete fine-tuned trials a policy may pick: learned, feasible, not a baseline."""
    import optuna

    from hpsearch.objectives import is_feasible
    from hpsearch.study import has_learned, is_baseline, is_confirmation, study_constraints

    constraints = study_constraints(study)
    return [confirmed_view(study, t) for t in study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
            if not is_baseline(t) and not is_confirmation(t) and has_learned(t) and is_feasible(t, constraints)]


def confirmed_view(study: "optuna.Study", trial: "FrozenTrial") -> "FrozenTrial":
    """`trial` with each objective confirmed over seeds (``hpsearch confirm``) as its mean; as is
    where there is none."""
    from hpsearch.export._confirm import CONFIRMED_ATTR

    figures = (study.user_attrs.get(CONFIRMED_ATTR) or {}).get(str(trial.number))
    if not figures:
        return trial
    means = {name: f["mean"] for name, f in figures.items() if isinstance(f, dict) and "mean" in f}
    own = {name: trial.user_attrs.get(name) for name in means}
    trial.user_attrs = {**trial.user_attrs, **means, "confirmed_over_seeds": figures, OWN_ATTR: own}
    return trial


#: On a confirmed trial's view: its own (first-seed) values, which a retrain with its seed reproduces.
OWN_ATTR = "measured_with_its_seed"


def choose(study: "optuna.Study", policy_text: str) -> tuple[Any, "FrozenTrial"]:
    """(policy, the trial it picks); UserError for a bad policy, NothingQualifies when none does."""
    from hpsearch.export._pick import explain_no_pick, pick
    from hpsearch.export._policy import check_metrics, parse_policy
    from hpsearch.study import objective_names

    policy = parse_policy(policy_text)
    names = objective_names(study)
    trials = candidates(study)
    known = set(names) | {k for t in trials for k, v in t.user_attrs.items() if isinstance(v, (int, float))}
    check_metrics(policy, known)
    directions = {n: d.name.lower() for n, d in zip(names, study.directions)}
    result = pick(policy, trials, directions, names)
    if result.trial is None:
        raise NothingQualifies([f"no trial of study {study.study_name!r} meets the policy {policy}:",
                                *(f"  {line}" for line in explain_no_pick(result, policy))])
    return policy, result.trial


def export_bundle(study: "optuna.Study", url: str, policy_text: str, out: Path, *, force: bool = False) -> Path:
    """Pick a trial by the policy and write its bundle to `out`; return `out`."""
    from hpsearch.study._artifacts import fetch, open_store

    out = out.expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise UserError(Problem("--out", "", f"{out} exists and is not empty; give an empty or new directory, "
                                "or --force to replace it"))
    policy, trial = choose(study, policy_text)
    config = trial.user_attrs.get("config")
    if not isinstance(config, dict):
        raise UserError(Problem("--study", "", f"trial {trial.number} of study {study.study_name!r} was recorded "
                                "before trials stored their full configuration; run the search again to export"))
    with written_whole(out) as staging:
        if config.get("method") != "full":
            from optuna.artifacts.exceptions import ArtifactNotFound

            from hpsearch.study._artifacts import REMOVED_ATTR

            if trial.number in (study.user_attrs.get(REMOVED_ATTR) or []):
                raise UserError(Problem("--study", "", f"trial {trial.number}'s adapter was removed when it left the "
                                        "front (keep_artifacts: front); pick with a policy that lands on the front"))
            try:
                fetch(open_store(study, url, create=False), trial, staging / "adapter")
            except (KeyError, ArtifactNotFound, OSError) as exc:
                raise UserError(Problem("--study", "", f"trial {trial.number} has no trained adapter in the "
                                        f"artifact store ({study.user_attrs.get('artifact_store', 'none recorded')}): "
                                        f"{exc}")) from None
        _write_files(staging, study, trial, config, str(policy))
    return out


@contextmanager
def written_whole(out: Path) -> Iterator[Path]:
    """A new folder beside `out` to write into: it takes `out`'s place when the block ends, and is
    removed if the block fails, so `out` is never half written (``--out`` names it in the error)."""
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=parent))
    except OSError as exc:
        raise UserError(Problem("--out", "", f"cannot write to {parent}: {exc.strerror or exc}")) from None
    try:
        yield staging
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_files(root: Path, study: "optuna.Study", trial: "FrozenTrial", config: dict[str, Any], policy: str) -> None:
    import yaml

    from hpsearch.export._card import model_card

    test = {k.removeprefix(TEST_PREFIX): v for k, v in trial.user_attrs.items() if k.startswith(TEST_PREFIX)}
    (root / "config.yaml").write_text(yaml.safe_dump(bundle_config(study, trial, config, policy), sort_keys=False),
                                      encoding="utf-8")
    lora = lora_config(root / "adapter") if config.get("method") == "lora" else None
    if lora is not None:
        _json(root / "lora_config.json", lora)
    _json(root / "training_arguments.json", training_arguments(config))
    bnb = bitsandbytes_config(config)
    if bnb is not None:
        _json(root / "bitsandbytes_config.json", bnb)
    if test:
        _json(root / "test_metrics.json", {
            "measured": "once, on the test split, after the policy picked this trial on validation metrics",
            "trial": trial.number, "metrics": test})
    (root / "MODEL_CARD.md").write_text(model_card(study, trial, config, policy, test), encoding="utf-8")
    from hpsearch.study._join import CARD_ATTR

    card = study.user_attrs.get(CARD_ATTR)
    if card:
        (root / "DATASET_CARD.md").write_text(card, encoding="utf-8")


def _json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def bundle_config(study: "optuna.Study", trial: "FrozenTrial", config: dict[str, Any], policy: str) -> dict[str, Any]:
    from hpsearch.study import objective_names

    space = study.user_attrs.get("space", {})
    section = dict(space.get("dataset") or {})
    base = study.user_attrs.get("space_dir")
    for key in ("path", "train", "validation", "test"):  # where the data is, wherever the bundle goes
        if base and section.get(key):
            section[key] = str((Path(base) / section[key]).expanduser().resolve())
    model = str(trial.user_attrs.get("model", space.get("model")))
    local = local_model(model, base) if base else None  # ... and a local model directory
    return {
        "hpsearch_bundle": BUNDLE_FORMAT,
        "model": str(local.resolve()) if local is not None else model,
        **({"model_revision": trial.user_attrs["model_revision"]}  # a hub id's commit, as the trial loaded it
           if trial.user_attrs.get("model_revision") else {}),
        "config": config,
        "labels": study.user_attrs.get("labels"),
        "objectives": study.user_attrs.get("objectives_config"),
        # the trial's own figures (not the confirmed means): what `hpsearch train` with its seed reproduces
        "validation": {k: v for k, v in {**trial.user_attrs, **(trial.user_attrs.get(OWN_ATTR) or {})}.items()
                       if "/" not in k and isinstance(v, (int, float)) and not isinstance(v, bool)
                       and k in {*objective_names(study), "macro_f1", "accuracy", "f1_gap", "latency_p50_ms"}},
        "dataset": {"section": section, "fingerprint": trial.user_attrs.get(
            "dataset_fingerprint", study.user_attrs.get("dataset_fingerprint")),
            "description": study.user_attrs.get("dataset")},
        "policy": policy,
        "confirmed_over_seeds": trial.user_attrs.get("confirmed_over_seeds"),
        "quantization_applied": trial.user_attrs.get("quantization_applied"),
        "provenance": {"study": study.study_name, "trial": trial.number, "seed": config.get("seed"),
                       "versions": trial.user_attrs.get("versions", {})},
    }


def lora_config(adapter: Path) -> dict[str, Any] | None:
    """``peft.LoraConfig`` keyword arguments, from the adapter as trained (its real target modules)."""
    import dataclasses

    from peft import LoraConfig

    path = adapter / "adapter_config.json"
    if not path.is_file():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    names = {f.name for f in dataclasses.fields(LoraConfig) if f.init}
    skip = {"base_model_name_or_path", "revision", "peft_type", "runtime_config"}
    return {k: v for k, v in saved.items() if k in names and k not in skip}


def training_arguments(config: dict[str, Any]) -> dict[str, Any]:
    """``transformers.TrainingArguments`` keyword arguments of the trial's optimisation (transformers 5
    folds the warm-up ratio into ``warmup_steps``: a float below 1 is a ratio of the total steps)."""
    import inspect

    from transformers import TrainingArguments

    takes_ratio = "warmup_ratio" in inspect.signature(TrainingArguments.__init__).parameters
    warmup = {"warmup_ratio": config["warmup_ratio"]} if takes_ratio else {"warmup_steps": float(config["warmup_ratio"])}
    return {**warmup,
        "output_dir": "output",
        "learning_rate": config["learning_rate"],
        "num_train_epochs": config["epochs"],
        "max_steps": config["max_steps"] or -1,
        "per_device_train_batch_size": config["batch_size"],
        "weight_decay": config["weight_decay"],
        "lr_scheduler_type": config["scheduler"],
        "label_smoothing_factor": config["label_smoothing"],
        "seed": config["seed"],
        "max_grad_norm": 1.0,  # the trainer's clip, as in hpsearch's loop
    }


def bitsandbytes_config(config: dict[str, Any]) -> dict[str, Any] | None:
    kind = config.get("quantization", "none")
    if kind == "none":
        return None
    if kind == "int8":
        return {"load_in_8bit": True}
    return {"load_in_4bit": True, "bnb_4bit_quant_type": kind, "bnb_4bit_compute_dtype": "bfloat16"}
