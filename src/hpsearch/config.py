"""The three YAML files a user writes, as validated models.

* a **space** (``spaces/*.yaml``): model, dataset, the parameters to search and the fixed ones;
* a **search** preset (``search/*.yaml``): sampler, budget, concurrency;
* an **objectives** set (``objectives/*.yaml``): what is measured and in which direction.

Loading never imports torch or Ray. Every problem in every file is collected and raised
together as a :class:`~hpsearch.errors.UserError` whose lines read ``file: key: message``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hpsearch.errors import Problem, UserError
from hpsearch.knobs import KNOBS

Scalar = Union[bool, int, float, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------- parameters


class _ParamBase(_Strict):
    when: dict[str, Union[Scalar, list[Scalar]]] | None = Field(
        default=None, description="active only when each named parameter takes one of these values"
    )

    def condition(self) -> dict[str, list[Any]]:
        return {k: (v if isinstance(v, list) else [v]) for k, v in (self.when or {}).items()}


class FloatParam(_ParamBase):
    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> "FloatParam":
        if not self.low <= self.high:
            raise ValueError(f"low <= high must hold, got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scale range needs low > 0, got low={self.low}")
        if self.log and self.step is not None:
            raise ValueError("step and log cannot both be set")
        return self


class IntParam(_ParamBase):
    type: Literal["int"]
    low: int
    high: int
    step: int = 1
    log: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> "IntParam":
        if not self.low <= self.high:
            raise ValueError(f"low <= high must hold, got low={self.low}, high={self.high}")
        if self.step < 1:
            raise ValueError(f"step must be >= 1, got {self.step}")
        if self.log and (self.low < 1 or self.step != 1):
            raise ValueError("a log-scale int range needs low >= 1 and step 1")
        return self


class CategoricalParam(_ParamBase):
    type: Literal["categorical"]
    choices: list[Scalar] = Field(min_length=1)

    @field_validator("choices")
    @classmethod
    def _unique(cls, choices: list[Scalar]) -> list[Scalar]:
        if len(set(map(repr, choices))) != len(choices):
            raise ValueError(f"choices must be distinct, got {choices}")
        return choices


class DerivedParam(_ParamBase):
    """A value computed from another parameter: ``value = from * times`` (no code is evaluated)."""

    type: Literal["derived"]
    from_: str = Field(alias="from")
    times: float = 1.0


ParamSpec = Annotated[
    Union[FloatParam, IntParam, CategoricalParam, DerivedParam], Field(discriminator="type")
]


# --------------------------------------------------------------------------- dataset


DEMO_DATASETS = ("legal", "healthcare", "engineering")


class DatasetConfig(_Strict):
    demo: Literal["legal", "healthcare", "engineering"] | None = None
    path: str | None = Field(default=None, description="one JSONL or CSV file, split by seed")
    train: str | None = None
    validation: str | None = None
    test: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    group_columns: list[str] = Field(default_factory=list)
    validation_fraction: float = Field(default=0.25, gt=0, lt=1)
    max_train_examples: int | None = Field(default=None, gt=0)
    max_eval_examples: int | None = Field(default=None, gt=0)
    seed: int = 0

    @field_validator("group_columns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> "DatasetConfig":
        given = [k for k in ("demo", "path", "train") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "exactly one of demo, path or train must be given, got "
                + (", ".join(given) if given else "none")
            )
        if self.train is None and (self.validation or self.test):
            raise ValueError("validation and test files need a train file")
        return self


# --------------------------------------------------------------------------- search


class SamplerConfig(_Strict):
    name: str = "tpe"
    options: dict[str, Any] = Field(default_factory=dict)


class SearchConfig(_Strict):
    sampler: SamplerConfig = Field(default_factory=SamplerConfig)
    trials: int = Field(default=10, gt=0)
    seed: int = 0
    max_concurrent_trials: int = Field(default=1, gt=0)
    cpus_per_trial: float | None = Field(default=None, gt=0, description="null: all of a node's CPUs")
    gpus_per_trial: float = Field(default=0, ge=0)
    time_budget_s: float | None = Field(default=None, gt=0)

    @field_validator("sampler", mode="before")
    @classmethod
    def _name_only(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


# --------------------------------------------------------------------------- objectives


class ObjectiveSpec(_Strict):
    name: str
    direction: Literal["maximize", "minimize"] | None = None


class LatencyConfig(_Strict):
    batch_size: int = Field(default=8, gt=0)
    warmup: int = Field(default=3, ge=0)
    repeats: int = Field(default=20, gt=0)


class FairnessConfig(_Strict):
    min_group_size: int = Field(default=5, ge=1)


class ObjectivesConfig(_Strict):
    objectives: list[ObjectiveSpec] = Field(min_length=1)
    latency: LatencyConfig = Field(default_factory=LatencyConfig)
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)

    @model_validator(mode="after")
    def _known(self) -> "ObjectivesConfig":
        from hpsearch.objectives import REGISTRY

        names = [o.name for o in self.objectives]
        for i, name in enumerate(names):
            if name not in REGISTRY:
                raise ValueError(
                    f"objectives[{i}].name: unknown objective {name!r}; known: "
                    + ", ".join(sorted(REGISTRY))
                )
            if names.index(name) != i:
                raise ValueError(f"objectives[{i}].name: {name!r} is listed twice")
        return self

    def directions(self) -> list[str]:
        from hpsearch.objectives import REGISTRY

        return [o.direction or REGISTRY[o.name].direction for o in self.objectives]

    def names(self) -> list[str]:
        return [o.name for o in self.objectives]


# --------------------------------------------------------------------------- space


class SpaceConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    model: str = "minilm"
    dataset: DatasetConfig
    search: str | None = Field(default=None, description="path of a search/*.yaml, relative to this file")
    objectives: str | None = Field(default=None, description="path of an objectives/*.yaml")
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    fixed: dict[str, Scalar] = Field(default_factory=dict)


# --------------------------------------------------------------------------- loading


class Study(BaseModel):
    """A space with its search preset and objectives resolved: everything a study needs."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: str
    space: SpaceConfig
    search: SearchConfig
    objectives: ObjectivesConfig
    base_dir: str

    def resolve(self, relative: str) -> Path:
        return (Path(self.base_dir) / relative).expanduser()


def _read_yaml(path: Path, problems: list[Problem]) -> Any:
    source = str(path)
    if not path.is_file():
        problems.append(Problem(source, "", "file not found"))
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(Problem(source, where, f"not valid YAML: {what}"))
        return None
    except UnicodeDecodeError:
        problems.append(Problem(source, "", "not a UTF-8 text file"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(source, "", f"must be a mapping of keys, got {type(data).__name__}"))
        return None
    return data


_TAGS = {"float", "int", "categorical", "derived", "function-after", "function-before"}


def _pydantic_problems(source: str, exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"] if str(p) not in _TAGS]
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
            # A model validator may name a sub-key itself ("objectives[1].name: ...").
            head, sep, rest = msg.partition(": ")
            if sep and (head.replace("[", ".").replace("]", "").replace(".", "").replace("_", "").isalnum()):
                if " " not in head:
                    loc.append(head)
                    msg = rest
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "union_tag_invalid":
            msg = f"type must be one of float, int, categorical, derived; got {err['input'].get('type')!r}" \
                if isinstance(err.get("input"), dict) else msg
        elif err["type"] == "union_tag_not_found":
            msg = "needs a 'type': float, int, categorical or derived"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error") \
                and not isinstance(err["input"], (dict, list)):
            msg = f"{msg}, got {err['input']!r}"
        out.append(Problem(source, ".".join(loc), msg))
    return out


def _model(cls: type[BaseModel], data: Any, source: str, problems: list[Problem]) -> Any:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(source, exc))
        return None


def _check_params(space: SpaceConfig, source: str, problems: list[Problem]) -> None:
    """Cross-field rules a schema cannot express: knob names, conditions, derived values."""
    declared: list[str] = []
    for name in space.fixed:
        if name in space.params:
            problems.append(Problem(source, f"fixed.{name}", "is also in params; give it in one place"))
    for name, value in space.fixed.items():
        knob = KNOBS.get(name)
        if knob is None:
            problems.append(Problem(source, f"fixed.{name}", _unknown_knob(name)))
            continue
        why = knob.problem(value)
        if why:
            problems.append(Problem(source, f"fixed.{name}", why))
        declared.append(name)
    for name, spec in space.params.items():
        key = f"params.{name}"
        knob = KNOBS.get(name)
        if knob is None:
            problems.append(Problem(source, key, _unknown_knob(name)))
            continue
        if isinstance(spec, CategoricalParam):
            for choice in spec.choices:
                why = knob.problem(choice)
                if why:
                    problems.append(Problem(source, f"{key}.choices", why))
        elif isinstance(spec, (FloatParam, IntParam)):
            if isinstance(spec, FloatParam) and knob.kind is not float:
                problems.append(Problem(source, f"{key}.type", f"{name} is {knob.kind.__name__}, not float"))
            elif isinstance(spec, IntParam) and knob.kind not in (int, float):
                problems.append(Problem(source, f"{key}.type", f"{name} is {knob.kind.__name__}, not int"))
            else:
                for bound in ("low", "high"):
                    why = knob.problem(getattr(spec, bound))
                    if why:
                        problems.append(Problem(source, f"{key}.{bound}", why))
        elif isinstance(spec, DerivedParam):
            if spec.from_ not in declared:
                problems.append(Problem(source, f"{key}.from",
                                        f"must name a parameter declared before {name}, got {spec.from_!r}"))
            elif knob.kind not in (int, float):
                problems.append(Problem(source, key, f"{name} is {knob.kind.__name__}; only numbers can be derived"))
        for other, values in spec.condition().items():
            if other not in declared:
                problems.append(Problem(source, f"{key}.when.{other}",
                                        f"must name a parameter declared before {name}"))
                continue
            possible = _possible_values(space, other)
            if possible is not None:
                for v in values:
                    if v not in possible:
                        problems.append(Problem(source, f"{key}.when.{other}",
                                                f"{v!r} is not a value {other} can take ({possible})"))
        declared.append(name)


def _possible_values(space: SpaceConfig, name: str) -> list[Any] | None:
    if name in space.fixed:
        return [space.fixed[name]]
    spec = space.params.get(name)
    return list(spec.choices) if isinstance(spec, CategoricalParam) else None


def _unknown_knob(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, KNOBS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown parameter{hint}; known: {', '.join(KNOBS)}"


def load_search(path: Path, problems: list[Problem]) -> SearchConfig | None:
    data = _read_yaml(path, problems)
    if data is None:
        return None
    config = _model(SearchConfig, data, str(path), problems)
    if config is not None:
        from hpsearch.samplers import SAMPLERS

        if config.sampler.name not in SAMPLERS:
            problems.append(Problem(str(path), "sampler.name",
                                    f"unknown sampler {config.sampler.name!r}; known: {', '.join(SAMPLERS)}"))
    return config


def load_objectives(path: Path, problems: list[Problem]) -> ObjectivesConfig | None:
    data = _read_yaml(path, problems)
    return None if data is None else _model(ObjectivesConfig, data, str(path), problems)


def load_study(path: str | Path, *, check_data: bool = True) -> Study:
    """Load and validate a space and the files it names; raise UserError listing every problem."""
    path = Path(path)
    problems: list[Problem] = []
    data = _read_yaml(path, problems)
    space = None if data is None else _model(SpaceConfig, data, str(path), problems)
    if space is None:
        raise UserError(problems)
    _check_params(space, str(path), problems)
    base = path.resolve().parent

    search = SearchConfig()
    if space.search is not None:
        search = load_search(base / space.search, problems) or search
    objectives = default_objectives()
    if space.objectives is not None:
        objectives = load_objectives(base / space.objectives, problems) or objectives
    study = Study(path=str(path), space=space, search=search, objectives=objectives, base_dir=str(base))
    if check_data and not problems:
        from hpsearch.data import check_dataset

        problems.extend(check_dataset(study))
    if problems:
        raise UserError(problems)
    return study


def default_objectives() -> ObjectivesConfig:
    return ObjectivesConfig(
        objectives=[
            ObjectiveSpec(name="macro_f1"),
            ObjectiveSpec(name="f1_gap"),
            ObjectiveSpec(name="latency_p50_ms"),
        ]
    )


def validate_files(paths: list[str]) -> list[Problem]:
    """Validate spaces, search presets and objectives files; return every problem found."""
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        data = _read_yaml(path, problems)
        if data is None:
            continue
        if "objectives" in data and "dataset" not in data:
            load_objectives(path, problems)
        elif "dataset" in data or "params" in data or "model" in data:
            try:
                load_study(path)
            except UserError as exc:
                problems.extend(exc.problems)
        else:
            load_search(path, problems)
    return problems
