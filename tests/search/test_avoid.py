"""Knob values that failed for a reason that holds everywhere are not proposed again."""

from __future__ import annotations

import optuna

from hpsearch.search import make_sampler

QUANT = ["none", "int8", "nf4"]


def _study(fail_knobs: dict) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=make_sampler("tpe_local", 0, {"n_startup_trials": 3, "local_after": 5}))
    failed = study.ask()
    failed.suggest_categorical("quantization", QUANT)
    failed.suggest_int("lora_layers", 1, 6)
    failed.set_user_attr("fail_knobs", fail_knobs)
    study.tell(failed, state=optuna.trial.TrialState.FAIL)
    return study


def _objective(trial: optuna.Trial) -> tuple[float, float]:
    q = trial.suggest_categorical("quantization", QUANT)
    layers = trial.suggest_int("lora_layers", 1, 6)
    return layers + (q == "nf4") * 3, QUANT.index(q) + layers


def test_a_value_that_failed_everywhere_is_never_proposed_again_and_the_trial_says_why() -> None:
    study = _study({"quantization": "nf4"})
    study.optimize(_objective, n_trials=30)
    proposed = [t.params["quantization"] for t in study.trials[1:]]
    assert "nf4" not in proposed and {"none", "int8"} <= set(proposed)
    reasons = [study.sampler.proposal_reason(t.number) or "" for t in study.trials]
    assert any("quantization='nf4' avoided: it failed trial 0" in r for r in reasons)


def test_values_that_fail_only_together_are_avoided_only_together() -> None:
    study = _study({"quantization": "nf4", "lora_layers": 6, "layers_kept": None})  # layers_kept: not searched
    study.optimize(_objective, n_trials=40)
    pairs = [(t.params["quantization"], t.params["lora_layers"]) for t in study.trials[1:]]
    assert ("nf4", 6) not in pairs
    assert any(q == "nf4" for q, _ in pairs) and any(n == 6 for _, n in pairs)
