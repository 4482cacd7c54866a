"""What an objectives file (``objectives/*.yaml``) says and everything a trial measures for it.

* the schema (``ObjectivesConfig``: objectives, constraints, latency and fairness settings);
* the registry of measurable quantities, each with its direction (``register_objective`` adds
  one; a team's own objective is named by module path, never evaluated);
* task metrics (scikit-learn), fairness gaps with bootstrap intervals (fairlearn), latency per
  request and throughput on an exclusive per-node measurement slot (any model: a prediction
  function is timed), and constraints parsed without eval.

Imports neither torch nor Ray (latency imports torch when it times a model).
"""

from __future__ import annotations

from hpsearch.objectives._constraints import (
    LEARNED_CONSTRAINT,
    MISSING_VIOLATION,
    OPS,
    STRICT_EQUALITY_VIOLATION,
    Constraint,
    constraint_range_problem,
    evaluate_constraints,
    is_feasible,
    learned_violation,
    parse_constraint,
    violations,
)
from hpsearch.objectives._fairness import fairness_stats, group_metrics
from hpsearch.objectives._latency import (
    MeasurementSlot,
    measure_latency,
    measure_request_latency,
    measure_throughput,
)
from hpsearch.objectives._metrics import (
    classification_metrics,
    collapse_reason,
    evaluate_predictions,
    trivial_scores,
)
from hpsearch.objectives._registry import (
    DEPLOYED_METRICS,
    FAIRNESS_METRICS,
    REGISTRY,
    Objective,
    ObjectiveError,
    evaluate_user_objective,
    known_names,
    load_function,
    register_objective,
    valid_name,
)
from hpsearch.objectives._schema import (
    CollapseConfig,
    FairnessConfig,
    LatencyConfig,
    ObjectivesConfig,
    ObjectiveSpec,
    default_objectives,
    load_objectives,
)

__all__ = [
    "DEPLOYED_METRICS", "LEARNED_CONSTRAINT", "learned_violation", "FAIRNESS_METRICS", "MISSING_VIOLATION", "OPS", "STRICT_EQUALITY_VIOLATION", "REGISTRY", "CollapseConfig", "Constraint", "FairnessConfig",
    "LatencyConfig", "MeasurementSlot", "Objective", "ObjectiveError", "ObjectiveSpec", "ObjectivesConfig",
    "classification_metrics", "collapse_reason", "constraint_range_problem", "trivial_scores", "default_objectives", "evaluate_constraints",
    "evaluate_predictions", "evaluate_user_objective", "fairness_stats", "group_metrics", "is_feasible",
    "known_names", "load_function", "load_objectives", "measure_latency", "measure_request_latency",
    "measure_throughput", "parse_constraint", "register_objective",
    "valid_name", "violations",
]
