"""The registry of measurable quantities a study may optimise, each with its direction.

Every trial records every registered quantity it measured (as Optuna user attributes), whether
or not it is an objective of the study, so a team can change its mind without re-running.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class Objective:
    name: str
    direction: Direction
    description: str
    needs_groups: bool = False


REGISTRY: dict[str, Objective] = {}


def register_objective(
    name: str, direction: Direction, description: str, *, needs_groups: bool = False
) -> Objective:
    """Add an objective to the registry; a name can be registered once."""
    if name in REGISTRY:
        raise ValueError(f"objective {name!r} is already registered")
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
    objective = Objective(name, direction, description, needs_groups)
    REGISTRY[name] = objective
    return objective


for _name, _direction, _description, _groups in [
    ("accuracy", "maximize", "accuracy on the evaluation split", False),
    ("macro_f1", "maximize", "macro-averaged F1 on the evaluation split", False),
    ("weighted_f1", "maximize", "support-weighted F1 on the evaluation split", False),
    ("macro_precision", "maximize", "macro-averaged precision", False),
    ("macro_recall", "maximize", "macro-averaged recall", False),
    ("f1_gap", "minimize", "max - min of per-group macro-F1", True),
    ("accuracy_gap", "minimize", "max - min of per-group accuracy", True),
    ("worst_group_f1", "maximize", "lowest per-group macro-F1", True),
    ("latency_p50_ms", "minimize", "median inference ms per example, adapters merged", False),
    ("latency_p95_ms", "minimize", "95th percentile inference ms per example", False),
]:
    register_objective(_name, _direction, _description, needs_groups=_groups)  # type: ignore[arg-type]
