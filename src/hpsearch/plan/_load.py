"""A plan: the three files that define a search (a space, the search preset and the objectives
file it names), loaded and checked together. Not to be confused with an Optuna study, which is
what running a plan writes to the study database.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from hpsearch.config import read_yaml, validate_model
from hpsearch.data import Split, Splits, load_splits, read_splits, scored_validation
from hpsearch.errors import Problem, UserError
from hpsearch.objectives import REGISTRY, ObjectivesConfig, default_objectives, load_objectives
from hpsearch.search import SearchConfig, load_search
from hpsearch.space import SpaceConfig, check_params, resolve_model


class Plan(BaseModel):
    """A space with its search preset and objectives resolved: everything a study is run from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: str
    space: SpaceConfig
    search: SearchConfig
    objectives: ObjectivesConfig
    base_dir: str

    def resolve(self, relative: str) -> Path:
        """A path the space gives, relative to the space file's folder."""
        return (Path(self.base_dir) / relative).expanduser()

    def model_path(self) -> str:
        """The space's model as ``from_pretrained`` takes it, a relative folder read from the space
        file's folder (``space.resolve_model``); raise UserError where it is not there."""
        return resolve_model(self.space.model, self.path, base=self.base_dir, revision=self.space.model_revision)

    def splits(self) -> Splits:
        """The space's dataset, read and split; raise UserError on bad data."""
        return load_splits(self.space.dataset, self.base_dir, self.path)


def load_plan(path: str | Path, *, check_data: bool = True) -> Plan:
    """Load and validate a space and the files it names; raise UserError listing every problem."""
    path = Path(path)
    problems: list[Problem] = []
    data = read_yaml(path, problems)
    space = None if data is None else validate_model(SpaceConfig, data, str(path), problems)
    if space is None:
        raise UserError(problems)
    check_params(space, str(path), problems)
    base = path.resolve().parent

    search = SearchConfig()
    named: list[Problem] = []  # what the files the space names say, a missing one at the space's key
    if space.search is not None:
        search = load_search(base / space.search, named) or search
        _at_key(named, base / space.search, str(path), "search")
    objectives = default_objectives()
    if space.objectives is not None:
        objectives = load_objectives(base / space.objectives, named) or objectives
        _at_key(named, base / space.objectives, str(path), "objectives")
    problems.extend(named)
    plan = Plan(path=str(path), space=space, search=search, objectives=objectives, base_dir=str(base))
    if check_data and not problems:
        problems.extend(check_data_fits(plan))
    if problems:
        raise UserError(problems)
    return plan


def _at_key(problems: list[Problem], file: Path, source: str, key: str) -> None:
    """A `file` the space names that is not there, said at the space's `key` (as `validate` says it)."""
    for i, problem in enumerate(problems):
        if problem.source == str(file) and problem.message == "file not found":
            problems[i] = Problem(source, key, f"file not found: {file}")


def check_data_fits(plan: Plan, gaps: bool = True) -> list[Problem]:
    """Every problem with the plan's dataset: its files, columns and labels, and what the
    objectives and constraints need of it (a group column, two labels; with `gaps`, two groups of
    `fairness.min_group_size` in the validation split a trial scores, for each measure between groups:
    a search's trials fail without them, while a retrain reports what it can measure).

    The data is read and checked, not prepared: of the section's options only those that change which
    validation examples a trial scores are applied (`scored_validation`); redaction would load
    presidio (and with it torch)."""
    problems: list[Problem] = []
    label_names = None
    try:
        raw = read_splits(plan.space.dataset, plan.base_dir, plan.path)
        label_names = sorted(set(map(str, raw.splits["train"].labels)))
    except UserError as exc:
        problems.extend(exc.problems)
    columns = plan.space.dataset.group_columns
    scored = None
    if label_names is not None:
        problems.extend(_try_own_objectives(plan, raw.splits["validation"], label_names))
        scored = scored_validation(raw.splits["validation"], plan.space.dataset) if gaps else None
    compared: set[str] = set()
    for what, metric, column in plan.objectives.used():
        spec = REGISTRY.get(metric)
        if spec is None:  # a team's own objective, named by module path
            continue
        if spec.needs_groups and not columns:
            problems.append(Problem(plan.path, "dataset.group_columns",
                                    f"{what} needs a group column, but none is given"))
        elif column is not None and column not in columns:
            problems.append(Problem(plan.path, "dataset.group_columns",
                                    f"{what} names group column {column!r}, but the group columns are "
                                    + ", ".join(columns)))
        elif spec.needs_groups and scored is not None:
            column = column or columns[0]  # the plain measure is the first column's
            if column not in compared:
                compared.add(column)
                problems.extend(_groups_too_small(plan, what, column, scored))
        if spec.binary_only and label_names is not None and len(label_names) != 2:
            problems.append(Problem(plan.path, "dataset.label_column",
                                    f"{what} needs a task with two labels, got {len(label_names)} "
                                    f"({', '.join(label_names)})"))
    return problems


def _groups_too_small(plan: Plan, what: str, column: str, validation: Split) -> list[Problem]:
    """`what`, a measure between the groups of `column`, where no trial could compute it: fewer than two
    groups of `fairness.min_group_size` examples in `validation`. Said now, not by every trial after training."""
    least = plan.objectives.fairness.min_group_size
    counts = Counter(validation.groups.get(column, ()))
    enough = sum(n >= least for n in counts.values())
    if enough >= 2:
        return []
    sizes = ", ".join(f"{g} {n}" for g, n in counts.most_common(6)) + (", ..." if len(counts) > 6 else "")
    return [Problem(plan.path, "dataset.group_columns",
                    f"{what} compares the groups of {column!r} with at least {least} validation examples each "
                    f"(fairness.min_group_size), but the validation split has {enough} such group(s) ({sizes}): "
                    "no trial could measure it")]


def _try_own_objectives(plan: Plan, validation: Split, label_names: list[str]) -> list[Problem]:
    """A team's objective that raises, or returns no number, on the validation split predicted right
    (the labels as predictions, certain): said at its key now, not by every trial after training."""
    import numpy as np

    from hpsearch.objectives import ObjectiveError, evaluate_user_objective

    own = [(i, o) for i, o in enumerate(plan.objectives.objectives) if o.module is not None]
    if not own:
        return []
    index = {name: i for i, name in enumerate(label_names)}
    y = [index[str(label)] for label in validation.labels]
    proba = np.eye(len(label_names))[y]
    source = str(Path(plan.base_dir) / plan.space.objectives) if plan.space.objectives else plan.path
    problems = []
    for i, o in own:
        try:
            evaluate_user_objective(o.name, o.module, y, list(y), proba, dict(validation.groups))
        except ObjectiveError as exc:
            problems.append(Problem(source, f"objectives[{i}].module", f"{exc}, called with the validation "
                                    "split's labels as the predictions, before any trial"))
    return problems
