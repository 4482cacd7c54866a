"""The registry of measurable quantities a study may optimise or constrain, each with its direction.

Every trial records every registered quantity it measured (as Optuna user attributes), whether
or not it is an objective of the study, so a team can change its mind without re-running.

A team's own objective is not registered: an objectives file names it with the function that
computes it, ``{name: my_metric, module: "mypkg.metrics:compute", direction: maximize}``, and
:func:`load_function` imports that function with importlib (nothing is evaluated).
"""

from __future__ import annotations

import importlib
import math
import numbers
import re
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Sequence

Direction = Literal["maximize", "minimize"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Objective:
    name: str
    direction: Direction
    description: str
    needs_groups: bool = False
    binary_only: bool = False
    bounds: tuple[float, float] | None = None  # the values it can take, where known


REGISTRY: dict[str, Objective] = {}


def valid_name(name: str) -> bool:
    """An objective's name is letters, digits and '_': a '/' introduces a group column or a part."""
    return _NAME.fullmatch(name) is not None


def register_objective(
    name: str, direction: Direction, description: str, *, needs_groups: bool = False,
    binary_only: bool = False, bounds: tuple[float, float] | None = None,
) -> Objective:
    """Add an objective to the registry; a name can be registered once."""
    if name in REGISTRY:
        raise ValueError(f"objective {name!r} is already registered")
    if not valid_name(name):
        raise ValueError(f"an objective name is letters, digits and '_' (a '/' introduces a group "
                         f"column), got {name!r}")
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
    objective = Objective(name, direction, description, needs_groups, binary_only, bounds)
    REGISTRY[name] = objective
    return objective


_TASK: list[tuple[str, Direction, str]] = [
    ("accuracy", "maximize", "accuracy on the evaluation split"),
    ("macro_f1", "maximize", "macro-averaged F1 on the evaluation split"),
    ("weighted_f1", "maximize", "support-weighted F1 on the evaluation split"),
    ("macro_precision", "maximize", "macro-averaged precision"),
    ("macro_recall", "maximize", "macro-averaged recall"),
    ("weighted_precision", "maximize", "support-weighted precision"),
    ("weighted_recall", "maximize", "support-weighted recall"),
    ("auroc", "maximize", "area under the ROC curve from the class probabilities (binary: of label "
                          "index 1; multiclass: macro one-vs-rest over the classes present)"),
]
_COSTS: list[tuple[str, Direction, str]] = [
    ("latency_p50_ms", "minimize", "median ms per request: one text in, its label out (batch size 1, "
                                   "no padding), as deployed (adapters merged, quantised)"),
    ("latency_p95_ms", "minimize", "95th percentile ms per request, timed as latency_p50_ms"),
    ("throughput_per_s", "maximize", "examples per second over the first latency.throughput_examples "
                                     "validation texts in batches of latency.throughput_batch_size, each "
                                     "padded to its longest, timed until known to latency.throughput_error"),
    ("peak_memory_mb", "minimize", "peak memory of the trial: CUDA max allocated, or sampled process RSS"),
    ("model_size_mb", "minimize", "size of the deployed model's serialised weights"),
    ("trainable_params", "minimize", "parameters updated by training"),
    ("train_seconds", "minimize", "wall-clock seconds of training"),
]
#: Measured once per trial, on the deployed model (adapters merged, quantised): training moves the
#: weights, not what a request computes nor how large the model is, so a trial's value is known after
#: its first epoch and stays (an early-stopping rule stops a trial that breaks a constraint on one).
DEPLOYED_METRICS = ("latency_p50_ms", "latency_p95_ms", "throughput_per_s", "model_size_mb")
_BINARY: list[tuple[str, Direction, str]] = [
    ("sensitivity", "maximize", "recall of the positive class (label index 1); binary tasks only"),
    ("specificity", "maximize", "recall of the negative class (label index 0); binary tasks only"),
]
_FAIRNESS: list[tuple[str, Direction, str]] = [
    ("f1_gap", "minimize", "max - min of per-group macro-F1 (first group column)"),
    ("accuracy_gap", "minimize", "max - min of per-group accuracy"),
    ("worst_group_f1", "maximize", "lowest per-group macro-F1"),
    ("equalized_odds_difference", "minimize",
     "largest between-group difference in true- or false-positive rate (fairlearn; multiclass: "
     "one-vs-rest, the largest over classes)"),
    ("demographic_parity_difference", "minimize",
     "largest between-group difference in selection rate (fairlearn; multiclass: one-vs-rest, the "
     "largest over classes)"),
]

#: The fairness measures, computed for each group column (see `hpsearch.objectives.group_metrics`).
#: Each also has a bootstrap confidence interval, ``<name>_ci_low`` and ``<name>_ci_high``.
FAIRNESS_METRICS = tuple(name for name, _, _ in _FAIRNESS)
#: The task metrics with a bootstrap confidence interval over the split's examples (``overall_intervals``).
INTERVAL_METRICS = ("macro_f1", "accuracy")

_FRACTION, _NON_NEGATIVE = (0.0, 1.0), (0.0, math.inf)
for _name, _direction, _description in _TASK:
    register_objective(_name, _direction, _description, bounds=_FRACTION)
for _name, _direction, _description in _COSTS:
    register_objective(_name, _direction, _description, bounds=_NON_NEGATIVE)
for _name, _direction, _description in _BINARY:
    register_objective(_name, _direction, _description, binary_only=True, bounds=_FRACTION)
for _name, _direction, _description in _FAIRNESS:
    register_objective(_name, _direction, _description, needs_groups=True, bounds=_FRACTION)
    for _end, _bound in (("low", "lower"), ("high", "upper")):
        register_objective(f"{_name}_ci_{_end}", _direction, f"{_bound} end of the bootstrap confidence "
                           f"interval of {_name}", needs_groups=True, bounds=_FRACTION)
for _name in INTERVAL_METRICS:
    for _end, _bound in (("low", "lower"), ("high", "upper")):
        register_objective(f"{_name}_ci_{_end}", "maximize", f"{_bound} end of the bootstrap confidence "
                           f"interval of {_name} over the split's examples", bounds=_FRACTION)


def known_names(names: Sequence[str] | None = None) -> str:
    """`names` (default: the registry's) for an error message, the confidence-interval ends folded."""
    names = sorted(REGISTRY if names is None else names)
    ends = {f"{m}_ci_{e}" for m in (*FAIRNESS_METRICS, *INTERVAL_METRICS) for e in ("low", "high")}
    shown = [n for n in names if n not in ends]
    folded = " (and the _ci_low and _ci_high of each fairness measure, macro_f1 and accuracy)" \
        if ends & set(names) else ""
    return ", ".join(shown) + folded


# --------------------------------------------------------------------------- a team's own objectives


class ObjectiveError(RuntimeError):
    """A team's objective function raised, or returned something that is not a number."""


def load_function(path: str) -> Callable[..., Any]:
    """The function `path` names, ``'package.module:function'``, imported with importlib.

    Raises ValueError saying what is wrong: the form, a module that cannot be imported, a name
    the module lacks, or something that is not callable.
    """
    if not isinstance(path, str):
        raise ValueError(f"must be a string 'package.module:function', got {path!r}")
    module_name, sep, attribute = path.strip().partition(":")
    parts = module_name.split(".") + attribute.split(".")
    if not sep or not all(p.isidentifier() for p in parts):
        raise ValueError(f"must read 'package.module:function' (an importable module, a colon, a "
                         f"function in it), got {path!r}")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the module's own code failed while importing
        raise ValueError(f"importing module {module_name!r} raised {type(exc).__name__}: {exc}") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"module {module_name!r} has no {part!r}, got {path!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"must name a function, got {path!r}, which is a {type(target).__name__}")
    return target  # type: ignore[no-any-return]


def evaluate_user_objective(
    name: str,
    module: str,
    y_true: Sequence[int],
    y_pred: Sequence[int],
    y_proba: Sequence[Sequence[float]] | None,
    groups: Mapping[str, Sequence[str]],
) -> dict[str, float]:
    """Call a team's objective function ``f(y_true, y_pred, y_proba, groups)``; its values by key.

    The function returns a number (the objective), or a dict of numbers that holds the objective
    under its own `name`; the dict's other keys are recorded as ``<name>/<key>``, so that they
    never overwrite a built-in metric.
    """
    function = load_function(module)
    where = f"objective {name!r} ({module})"
    try:
        result = function(y_true, y_pred, y_proba, dict(groups))
    except Exception as exc:  # noqa: BLE001 - the team's code; the trial records why it failed
        raise ObjectiveError(f"{where} raised {type(exc).__name__}: {exc}") from exc
    if _is_number(result):
        return {name: float(result)}
    if isinstance(result, Mapping):
        bad = {str(k): v for k, v in result.items() if not _is_number(v)}
        if bad:
            raise ObjectiveError(f"{where} must return numbers, got {bad!r}")
        if name not in result:
            raise ObjectiveError(f"{where} returned a dict without its own name {name!r} (the objective's "
                                 f"value), got keys {sorted(map(str, result))}")
        return {(k if k == name else f"{name}/{k}"): float(v) for k, v in result.items()}
    raise ObjectiveError(f"{where} must return a number or a dict of numbers, got {type(result).__name__}")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
