"""What an objectives file (``objectives/*.yaml``) says: the quantities to optimise and their
directions, constraints on measured quantities, how latency is timed and fairness gaps resampled.

Every objective and constraint is checked against the registry, all at once, each at its own key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from hpsearch.config import Strict, read_yaml, validate_model
from hpsearch.errors import Problem
from hpsearch.objectives._constraints import Constraint, constraint_range_problem, parse_constraint
from hpsearch.objectives._registry import DEPLOYED_METRICS, REGISTRY, known_names, load_function, valid_name


class ObjectiveSpec(Strict):
    name: str
    direction: Literal["maximize", "minimize"] | None = None
    module: str | None = Field(
        default=None, description="'package.module:function' computing a team's own objective from "
        "(y_true, y_pred, y_proba, groups); its name must not be a built-in one and direction is required"
    )


class LatencyConfig(Strict):
    """How latency is timed: single requests (batch size 1, each text at its own length) and
    throughput over the validation texts in padded batches."""

    requests: int = Field(default=100, ge=100, description="timed requests, one text each, cycling "
                          "through the validation texts; fewer cannot place a 95th percentile")
    warmup: int = Field(default=10, ge=0, description="untimed requests first")
    throughput_batch_size: int = Field(default=32, gt=0, description="texts per batch for throughput_per_s, "
                                       "each batch padded to its longest")
    throughput_examples: int = Field(default=256, gt=0, description="validation texts served for throughput_per_s "
                                     "(the first ones): a bound on its cost when the validation split is large")
    throughput_error: float = Field(default=0.02, ge=0.0, lt=1.0, description="batches are timed until the "
                                    "standard error of the seconds per example is at most this share of its mean "
                                    "(at least 3 batches); 0: every batch of throughput_examples")


class FairnessConfig(Strict):
    min_group_size: int = Field(default=5, ge=1)
    bootstrap: int = Field(default=200, ge=0, le=100_000,
                           description="resamples for the confidence intervals of the gaps, macro-F1 and accuracy; "
                           "0: none")
    seed: int = 0
    confidence: float = Field(default=0.95, gt=0, lt=1)

    @field_validator("bootstrap")
    @classmethod
    def _enough(cls, value: int) -> int:
        if 0 < value < 50:
            raise ValueError(f"must be 0 (no confidence intervals) or at least 50, got {value}; "
                             "fewer resamples cannot place the ends of an interval")
        return value


class CollapseConfig(Strict):
    """When a trial is stopped because its validation predictions collapsed (checked after each
    epoch): one class for every example, or a macro-F1 within `margin` of the trivial predictors'."""

    patience: int = Field(default=1, ge=0, description="collapsed epochs in a row after which a trial "
                          "stops (it is still evaluated and recorded, off the front); 0: never stop")
    margin: float = Field(default=0.02, ge=0, le=1, description="macro-F1 at most this far above the "
                          "better trivial predictor (majority class, stratified random) counts as collapsed")


class ObjectivesConfig(Strict):
    objectives: list[ObjectiveSpec] = Field(min_length=1)
    latency: LatencyConfig = Field(default_factory=LatencyConfig)
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
    collapse: CollapseConfig = Field(default_factory=CollapseConfig)
    constraints: list[str] = Field(
        default_factory=list,
        description="'<metric> <op> <number>' each, op <=, <, >= or >; a trial that breaks one is "
        "kept but left off the Pareto front",
    )
    epoch_validation_examples: int | None = Field(
        default=1000, ge=50,
        description="validation examples predicted after each epoch (the collapse check, a scheduler's per-epoch "
        "objectives): a fixed subset of this many, stratified by label, the same for every trial; "
        "null: the whole split. The final evaluation always predicts the whole split",
    )
    min_gain_over_trivial: float = Field(
        default=0.1, ge=0, le=1,
        description="macro-F1 a trial must gain over the better trivial predictor (majority class, "
        "stratified random) on the same split to count as learned; one that does not is kept in the "
        "study but left off the front hpsearch shows and exports",
    )

    @field_validator("constraints", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _known(self) -> "ObjectivesConfig":
        """Names, modules and constraints; every problem at once, each at its own key."""
        errors = _objective_problems(self.objectives) + _constraint_problems(self)
        if errors:
            from pydantic_core import InitErrorDetails, PydanticCustomError

            raise ValidationError.from_exception_data(type(self).__name__, [
                InitErrorDetails(type=PydanticCustomError("value_error", "{message}", {"message": message}),
                                 loc=loc, input=given)
                for loc, message, given in errors
            ])
        return self

    def directions(self) -> list[str]:
        return [o.direction or REGISTRY[o.name].direction for o in self.objectives]

    def names(self) -> list[str]:
        return [o.name for o in self.objectives]

    def module_objectives(self) -> list[ObjectiveSpec]:
        """The team's own objectives: those computed by a function named by module path."""
        return [o for o in self.objectives if o.module is not None]

    def parsed_constraints(self) -> list[Constraint]:
        return [parse_constraint(text) for text in self.constraints]

    def deployed_constraints(self) -> list[Constraint]:
        """The constraints on what the deployed model measures (``DEPLOYED_METRICS``): training does not
        change it, so a trial breaking one is stopped before it trains."""
        return [c for c in self.parsed_constraints() if c.metric in DEPLOYED_METRICS]

    def used(self) -> list[tuple[str, str, str | None]]:
        """(what, metric, group column or None) for every objective and constraint.

        ``("objective 'f1_gap'", "f1_gap", None)``, ``("constraint 'f1_gap/region <= 0.1'",
        "f1_gap", "region")``: what a dataset must provide (groups, a column, two labels) is
        checked against these.
        """
        out: list[tuple[str, str, str | None]] = [(f"objective {o.name!r}", o.name, None) for o in self.objectives]
        for c in self.parsed_constraints():
            metric, _, column = c.metric.partition("/")
            out.append((f"constraint {str(c)!r}", metric, column or None))
        return out


def _objective_problems(objectives: list[ObjectiveSpec]) -> list[tuple[tuple[Any, ...], str, Any]]:
    """(location, message, value given) for each objective that names nothing, or twice."""
    import difflib

    out: list[tuple[tuple[Any, ...], str, Any]] = []
    names = [o.name for o in objectives]
    for i, o in enumerate(objectives):
        at = ("objectives", i)
        if names.index(o.name) != i:
            out.append(((*at, "name"), f"{o.name!r} is listed twice, got it first at objectives[{names.index(o.name)}]",
                        o.name))
            continue
        if o.module is None:
            if o.name not in REGISTRY:
                close = difflib.get_close_matches(o.name, list(REGISTRY), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                out.append(((*at, "name"), f"unknown objective {o.name!r}{hint}; known: {known_names()}; or "
                            "give module: 'package.module:function' to compute your own", o.name))
            continue
        if o.name in REGISTRY:
            out.append(((*at, "module"), f"must be left out for the built-in objective {o.name!r}; your own "
                        f"objective needs a name of its own, got module {o.module!r}", o.module))
        elif not valid_name(o.name):
            out.append(((*at, "name"), f"must be letters, digits and '_' for your own objective, got {o.name!r}",
                        o.name))
        if o.direction is None:
            out.append(((*at, "direction"), f"is required for your own objective {o.name!r}: maximize or "
                        "minimize, got nothing", None))
        try:
            load_function(o.module)
        except ValueError as exc:
            out.append(((*at, "module"), str(exc), o.module))
    return out


def _constraint_problems(config: ObjectivesConfig) -> list[tuple[tuple[Any, ...], str, Any]]:
    """(location, message, value given) for each constraint that does not parse, or cannot matter."""
    known = set(REGISTRY) | {o.name for o in config.module_objectives()}
    grouped = {name for name, spec in REGISTRY.items() if spec.needs_groups}
    out: list[tuple[tuple[Any, ...], str, Any]] = []
    seen: dict[str, int] = {}
    for i, text in enumerate(config.constraints):
        try:
            constraint = parse_constraint(text, known, grouped)
        except ValueError as exc:
            out.append((("constraints", i), str(exc), text))
            continue
        if str(constraint) in seen:
            out.append((("constraints", i), f"is listed twice, got {text!r} at constraints[{seen[str(constraint)]}] "
                        "too", text))
            continue
        seen[str(constraint)] = i
        spec = REGISTRY.get(constraint.metric.partition("/")[0])
        why = constraint_range_problem(constraint, spec.bounds if spec else None)
        if why:
            out.append((("constraints", i), why, text))
    return out


def load_objectives(path: Path, problems: list[Problem]) -> ObjectivesConfig | None:
    """The objectives file at `path`, or None with every mistake added to `problems`."""
    data = read_yaml(path, problems)
    return None if data is None else validate_model(ObjectivesConfig, data, str(path), problems)


def default_objectives() -> ObjectivesConfig:
    """What a space without an objectives file optimises: macro-F1, the group F1 gap, latency."""
    return ObjectivesConfig(
        objectives=[
            ObjectiveSpec(name="macro_f1"),
            ObjectiveSpec(name="f1_gap"),
            ObjectiveSpec(name="latency_p50_ms"),
        ]
    )
