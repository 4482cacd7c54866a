"""`hpsearch confirm`: run the front's best trials again with other seeds before trusting them.

The policy ranks the study's complete, learned, feasible trials; the top K each get S re-runs with
seeds original+1 … original+S, enqueued in the study under one batch and run through the same Ray
path as any trial (``hpsearch.study.run`` with ``batch``: nothing else is sampled, no baseline runs).
Each re-run is a complete trial carrying ``confirm_of`` (kept off the front). The study then holds,
under its user attribute ``confirmed``, each original's mean ± standard deviation per objective over
its seeds (the original's own included); ``export`` uses them and says so in the model card.
"""

from __future__ import annotations

import statistics
import uuid
from typing import TYPE_CHECKING, Any

from hpsearch.errors import Problem, UserError
from hpsearch.study import CONFIRMED_ATTR

if TYPE_CHECKING:
    import optuna
    from rich.console import Console


def plan_from_study(study: "optuna.Study") -> Any:
    """The plan a study was run from, rebuilt from what it recorded (space, objectives, folder)."""
    from hpsearch.objectives import ObjectivesConfig, default_objectives
    from hpsearch.plan import Plan
    from hpsearch.search import SearchConfig
    from hpsearch.space import SpaceConfig

    attrs = study.user_attrs
    if not attrs.get("space") or not attrs.get("space_dir"):
        raise UserError(Problem("--study", "", f"study {study.study_name!r} was run by an hpsearch that did not "
                                "record its space and folder; run its space file again, then confirm"))
    space = SpaceConfig.model_validate(attrs["space"])
    objectives = (ObjectivesConfig.model_validate(attrs["objectives_config"]) if attrs.get("objectives_config")
                  else default_objectives())
    return Plan(path=f"study {study.study_name}", space=space, search=SearchConfig(), objectives=objectives,
                base_dir=attrs["space_dir"])


def confirm(url: str, study: "optuna.Study", policy_text: str, top: int, seeds: int, console: "Console",
            address: str | None = None) -> dict[str, Any]:
    """Re-run the policy's top `top` trials with `seeds` more seeds each; return what was stored."""
    from hpsearch.export._bundle import NothingQualifies, candidates
    from hpsearch.export._pick import explain_no_pick, pick
    from hpsearch.export._policy import check_metrics, parse_policy
    from hpsearch.space import FIXED_ATTR
    from hpsearch.study import CONFIRM_ATTR, RunOptions, objective_names, run
    from hpsearch.study._ledger import BATCH_ATTR

    if top < 1 or seeds < 1:
        raise UserError(Problem("--top" if top < 1 else "--seeds", "", "must be >= 1"))
    policy = parse_policy(policy_text)
    names = objective_names(study)
    trials = candidates(study)
    check_metrics(policy, set(names) | {k for t in trials for k, v in t.user_attrs.items()
                                        if isinstance(v, (int, float))})
    ranked = pick(policy, trials, {n: d.name.lower() for n, d in zip(names, study.directions)}, names)
    if not ranked.ranked:
        raise NothingQualifies([f"no trial of study {study.study_name!r} meets the policy {policy}:",
                                *(f"  {line}" for line in explain_no_pick(ranked, policy))])
    chosen = ranked.ranked[:top]
    plan = plan_from_study(study)
    batch = uuid.uuid4().hex[:12]
    for trial in chosen:
        base_seed = int((trial.user_attrs.get("config") or {}).get("seed", 0))
        for i in range(1, seeds + 1):
            study.enqueue_trial(trial.params, user_attrs={CONFIRM_ATTR: trial.number, BATCH_ATTR: batch,
                                                          FIXED_ATTR: {"seed": base_seed + i}},
                                skip_if_exists=False)
    console.print(f"Confirming trial(s) {', '.join(str(t.number) for t in chosen)} of {study.study_name!r} "
                  f"(ranked by {policy}) with {seeds} more seed(s) each", soft_wrap=True)
    study = run(plan, RunOptions(storage=url, study_name=study.study_name, trials=len(chosen) * seeds,
                                 address=address, batch=batch), console)
    return record_confirmed(study, [t.number for t in chosen])


def record_confirmed(study: "optuna.Study", numbers: list[int]) -> dict[str, Any]:
    """Mean ± standard deviation per objective of each original over its seeds, stored on the study."""
    import optuna

    from hpsearch.study import CONFIRM_ATTR, objective_names

    names = objective_names(study)
    trials = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    confirmed = dict(study.user_attrs.get(CONFIRMED_ATTR) or {})
    for number in numbers:
        group = [t for t in trials if t.number == number or t.user_attrs.get(CONFIRM_ATTR) == number]
        figures: dict[str, Any] = {}
        for name in names:
            values = [float(t.user_attrs[name]) for t in group if isinstance(t.user_attrs.get(name), (int, float))]
            if not values:
                continue
            figures[name] = {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1
                             else 0.0, "n": len(values), "values": values}
        figures["seeds"] = [int((t.user_attrs.get("config") or {}).get("seed", 0)) for t in group]
        figures["trials"] = [t.number for t in group]
        confirmed[str(number)] = figures
    study.set_user_attr(CONFIRMED_ATTR, confirmed)
    return confirmed
