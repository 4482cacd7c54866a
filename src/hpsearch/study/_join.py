"""Joining a study: a new study is created with what it holds (space, dataset, objectives,
constraints); an existing one is joined only by a driver that runs the same search, else one line
says what differs and nothing is written. What a study's first run decided (the model's commit, the
sampler's random start-up) every later run keeps."""

from __future__ import annotations

import itertools
import os
import warnings
from typing import TYPE_CHECKING, Any

import optuna

from hpsearch.errors import Problem, UserError
from hpsearch.objectives import Constraint
from hpsearch.plan import Plan
from hpsearch.study._faults import retrying
from hpsearch.study._front import record_constraints

if TYPE_CHECKING:
    from hpsearch.data import Splits
    from hpsearch.study._ledger import Ledger

#: The study attribute every worker checks the data it received against.
CONTENT_ATTR = "dataset_content_fingerprint"
#: Per split, the content fingerprint (normalised, options applied): which split changed.
SPLITS_ATTR = "dataset_split_fingerprints"
#: DATASET_CARD.md of the study's data, from `hpsearch data check`; exported bundles carry it.
CARD_ATTR = "dataset_card"
#: The commit of the space's hub id that the study's trials load: its first run's (``pinned_to_study``).
MODEL_COMMIT_ATTR = "model_commit"


def join_study(storage: Any, name: str, plan: Plan, splits: "Splits", constraints: list[Constraint]) -> "optuna.Study":
    """The study `name`, created with what it holds (space, dataset, objectives, constraints) if it
    is new; a UserError, with nothing written, if it exists and holds a different search."""
    names = plan.objectives.names()
    directions = plan.objectives.directions()
    fingerprint = splits.fingerprint
    try:
        existing = retrying(lambda: optuna.load_study(study_name=name, storage=storage), "loading the study")
    except KeyError:
        existing = None
    if existing is not None:
        differ = differences(existing, plan, fingerprint, constraints, splits.split_fingerprints)
        if differ:
            raise UserError(Problem("--study", "", f"study {name!r} holds another search ({'; '.join(differ)}); "
                                    "run the same files against it, or use another --study name (--new-study "
                                    "picks one)"))
        if not existing.user_attrs.get("space"):
            record_study_attrs(existing, plan, splits)  # a study an earlier hpsearch, or Optuna, began
        return existing
    study = retrying(lambda: optuna.create_study(study_name=name, storage=storage, directions=directions,
                                                 load_if_exists=True), "creating the study")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retrying(lambda: study.set_metric_names(names), "creating the study")
    record_study_attrs(study, plan, splits)
    retrying(lambda: record_constraints(study, constraints), "creating the study")
    return study


def study_for(storage: Any, name: str, plan: Plan, splits: "Splits", constraints: list[Constraint]) -> str:
    """`name`, if that study is new or holds this search; else the first of `name-2`, `name-3`, ...
    that is new or holds it (`hpsearch run --new-study`: a study for changed data, found again by
    the same command)."""
    for n in itertools.count(1):
        candidate = name if n == 1 else f"{name}-{n}"
        try:
            existing = retrying(lambda: optuna.load_study(study_name=candidate, storage=storage), "loading the study")
        except KeyError:
            return candidate
        if not differences(existing, plan, splits.fingerprint, constraints, splits.split_fingerprints):
            return candidate
    raise AssertionError("unreachable")


def differences(study: "optuna.Study", plan: Plan, fingerprint: str, constraints: list[Constraint],
                split_fingerprints: dict[str, str] | None = None) -> list[str]:
    """What the study holds that this plan does not: objectives, constraints, dataset, space."""
    from hpsearch.study._front import STUDY_ATTR

    names = plan.objectives.names()
    directions = plan.objectives.directions()
    have = [d.name.lower() for d in study.directions]
    metric_names = list(study.metric_names or [])
    out = []
    if have != directions or (metric_names and metric_names != names):
        out.append(f"objectives {list(zip(metric_names, have))} in the study, {list(zip(names, directions))} here")
    attrs = study.user_attrs
    if not attrs.get("space"):
        return out
    recorded = attrs.get(STUDY_ATTR, [])
    if recorded != [str(c) for c in constraints]:
        out.append(f"constraints {recorded} in the study, {[str(c) for c in constraints]} here")
    if attrs.get("dataset_fingerprint") not in (None, fingerprint):
        theirs_splits = attrs.get(SPLITS_ATTR) or {}
        ours = split_fingerprints or {}
        changed = [s for s in ("train", "validation", "test") if s in theirs_splits and s in ours
                   and theirs_splits[s] != ours[s]]
        gone = [s for s in ("validation", "test") if s in theirs_splits and s not in ours]
        new = [s for s in ("validation", "test") if s in ours and s not in theirs_splits]
        said = [f"split {', '.join(repr(s) for s in changed)} changed"] if changed else []
        said += [f"no {s!r} split here" for s in gone] + [f"a {s!r} split the study has not" for s in new]
        what = "; ".join(said) if said and theirs_splits else "the data or its options changed"
        out.append(f"dataset fingerprint {attrs['dataset_fingerprint']} in the study, {fingerprint} here: {what}")
    space = plan.space.model_dump(mode="json", by_alias=True)
    theirs = attrs["space"]
    for key in sorted(set(space) | set(theirs)):
        if key in ("name", "search", "objectives"):  # names of files; what they hold is compared above
            continue
        if space.get(key) != theirs.get(key):
            if isinstance(space.get(key), dict) and isinstance(theirs.get(key), dict):
                inner = sorted(k for k in set(space[key]) | set(theirs[key]) if space[key].get(k) != theirs[key].get(k))
                out.append(f"space {key}.{', '.join(inner)} differ{'s' if len(inner) == 1 else ''}")
            else:
                out.append(f"space {key} differs")
    return out


def dataset_card_of(plan: Plan) -> str:
    """The plan's data checked as `hpsearch data check` does, as DATASET_CARD.md."""
    from hpsearch.data import check_splits, dataset_card, read_splits

    config = plan.space.dataset
    return dataset_card(check_splits(read_splits(config, plan.base_dir, plan.path), config, plan.path))


def record_study_attrs(study: "optuna.Study", plan: Plan, splits: "Splits") -> None:
    from hpsearch import __version__
    from hpsearch.space import hub_commit
    from hpsearch.trial._shipping import content_fingerprint

    attrs = {
        "hpsearch_version": __version__,
        "space_file": os.path.basename(plan.path),
        "space": plan.space.model_dump(mode="json", by_alias=True),
        "dataset_fingerprint": splits.fingerprint,
        SPLITS_ATTR: splits.split_fingerprints,
        CONTENT_ATTR: content_fingerprint(splits),
        CARD_ATTR: dataset_card_of(plan),
        "dataset": splits.describe(),
        "labels": splits.label_names,
        "space_dir": str(plan.base_dir),  # the dataset's relative paths start here (export, retrain)
        "objectives_config": plan.objectives.model_dump(mode="json"),
    }
    commit = hub_commit(plan.space.model, plan.model_path(), plan.base_dir)
    if commit is not None:
        attrs[MODEL_COMMIT_ATTR] = commit
    for key, value in attrs.items():
        retrying(lambda: study.set_user_attr(key, value), "recording the study")


def recorded_commit(study: "optuna.Study") -> str | None:
    """The commit of its hub id that the study's trials load: its attribute, else (a study an earlier
    hpsearch began) the one its first trial to record one loaded; None for a packaged or local model."""
    commit = study.user_attrs.get(MODEL_COMMIT_ATTR)
    if commit:
        return str(commit)
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if trial.user_attrs.get("model_revision"):
            return str(trial.user_attrs["model_revision"])
    return None


def pinned_to_study(plan: Plan, study: "optuna.Study") -> tuple[Plan, str] | None:
    """The plan whose trials load the commit of its hub id that the study's trials load, and the one
    found here, where the two differ: every trial of a study trains the same weights, whichever driver
    joins it and however long after its first run, whatever this machine's cache or the hub calls
    ``main`` now. None where they are the same (or the model is packaged or a local folder, or the
    study is new). The study's commit is fetched into the local cache where the hub answers; offline,
    or where it cannot be had, UserError at the space's ``model`` and nothing is written. A study
    that recorded no commit yet (an earlier hpsearch's) records the one found here."""
    from hpsearch.space import commit_snapshot, hub_commit

    ref = plan.space.model
    found = hub_commit(ref, plan.model_path(), plan.base_dir)
    theirs = recorded_commit(study)
    if found is None or theirs == found:
        return None
    if theirs is None:
        retrying(lambda: study.set_user_attr(MODEL_COMMIT_ATTR, found), "recording the study")
        return None
    try:
        commit_snapshot(ref, theirs)
    except LookupError as exc:
        raise UserError(Problem(plan.path, "model", f"study {study.study_name!r} trains {ref!r} at commit {theirs} "
                                f"(its first run's; {found} here), which is {exc}")) from None
    return plan.model_copy(update={"space": plan.space.model_copy(update={"model_revision": theirs})}), found


#: Study system attribute: per sampler, the random start-up the study's first run fitted to its budget.
START_UP_KEY = "hpsearch:start_up"


def start_up(ledger: "Ledger", name: str, options: dict[str, Any], budget: int) -> dict[str, Any]:
    """The sampler's `options` with the study's random start-up where the preset names none.

    The start-up is fitted to the budget of the study's first run (``fit_to_budget``) and recorded in
    the study, so that a run resumed with another ``--trials``, or a second driver, keeps it, and with it
    gp_pool's hypervolume reference (the median of the start-up trials). A preset that names its own keeps it;
    a study that recorded none yet (an earlier hpsearch's) records this run's.
    """
    from hpsearch.search import fit_to_budget

    fitted = fit_to_budget(name, options, budget)
    derived = {k: v for k, v in fitted.items() if k not in options}
    if not derived:
        return fitted
    with ledger.lock.held():
        recorded = dict(retrying(lambda: ledger.storage.get_study_system_attrs(ledger.study_id), "reading the study")
                        .get(START_UP_KEY, {}))
        if name not in recorded:
            recorded[name] = derived
            retrying(lambda: ledger.storage.set_study_system_attr(ledger.study_id, START_UP_KEY, recorded),
                     "recording the start-up")
    return {**fitted, **recorded[name]}
