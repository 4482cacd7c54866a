"""The three YAML files a user writes, as validated models.

* a **space** (``spaces/*.yaml``): model, dataset, the parameters to search and the fixed ones;
* a **search** preset (``search/*.yaml``): sampler, budget, concurrency;
* an **objectives** set (``objectives/*.yaml``): what is measured and in which direction.

Loading never imports torch or Ray. Every problem in every file is collected and raised
together as a :class:`~hpsearch.errors.UserError` whose lines read ``file: key: message``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hpsearch.errors import Problem, UserError
from hpsearch.knobs import KNOBS

if TYPE_CHECKING:
    from hpsearch.constraints import Constraint

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
    module: str | None = Field(
        default=None, description="'package.module:function' computing a team's own objective from "
        "(y_true, y_pred, y_proba, groups); its name must not be a built-in one and direction is required"
    )


class LatencyConfig(_Strict):
    batch_size: int = Field(default=8, gt=0)
    warmup: int = Field(default=3, ge=0)
    repeats: int = Field(default=20, gt=0)


class FairnessConfig(_Strict):
    min_group_size: int = Field(default=5, ge=1)
    bootstrap: int = Field(default=200, ge=0, le=100_000,
                           description="resamples for the confidence intervals of the gaps; 0: none")
    seed: int = 0
    confidence: float = Field(default=0.95, gt=0, lt=1)

    @field_validator("bootstrap")
    @classmethod
    def _enough(cls, value: int) -> int:
        if 0 < value < 50:
            raise ValueError(f"must be 0 (no confidence intervals) or at least 50, got {value}; "
                             "fewer resamples cannot place the ends of an interval")
        return value


class ObjectivesConfig(_Strict):
    objectives: list[ObjectiveSpec] = Field(min_length=1)
    latency: LatencyConfig = Field(default_factory=LatencyConfig)
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
    constraints: list[str] = Field(
        default_factory=list,
        description="'<metric> <op> <number>' each, op <=, <, >= or >; a trial that breaks one is "
        "kept but left off the Pareto front",
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
        from hpsearch.objectives import REGISTRY

        return [o.direction or REGISTRY[o.name].direction for o in self.objectives]

    def names(self) -> list[str]:
        return [o.name for o in self.objectives]

    def module_objectives(self) -> list[ObjectiveSpec]:
        """The team's own objectives: those computed by a function named by module path."""
        return [o for o in self.objectives if o.module is not None]

    def parsed_constraints(self) -> list["Constraint"]:
        from hpsearch.constraints import parse_constraint

        return [parse_constraint(text) for text in self.constraints]

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

    from hpsearch.objectives import REGISTRY, known_names, load_function, valid_name

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
    from hpsearch.constraints import constraint_range_problem, parse_constraint
    from hpsearch.objectives import REGISTRY

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
    baseline: Literal["none", "head"] = Field(
        default="none",
        description="head: the study's first trial trains only the classification head, so that "
        "reports show what fine-tuning gained",
    )


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


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, noting every key given twice in one mapping (PyYAML keeps the last)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, Any, int]] = []  # (line, key, line first given)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: PyYAML reports it below
                continue
            if first != key_node.start_mark.line + 1:
                self.duplicates.append((key_node.start_mark.line + 1, key, first))
        return super().construct_mapping(node, deep)


def _read_yaml(path: Path, problems: list[Problem]) -> Any:
    source = str(path)
    if path.is_dir():
        problems.append(Problem(source, "", "must be a YAML file, got a directory"))
        return None
    if not path.is_file():
        problems.append(Problem(source, "", "file not found"))
        return None
    try:
        loader = _UniqueKeyLoader(path.read_text(encoding="utf-8"))
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark is not None:
            what += f" (column {mark.column + 1}"
            context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
            if context and start is not None and start.line != mark.line:
                what += f", {context} that starts on line {start.line + 1}"
            what += ")"
        if "'\\t'" in what:
            what += "; indent with spaces, not tabs"
        problems.append(Problem(source, where, f"not valid YAML: {what}"))
        return None
    except UnicodeDecodeError as exc:
        problems.append(Problem(source, "", f"must be UTF-8 text, got byte {exc.object[exc.start]:#04x} "
                                            f"at offset {exc.start} that is not UTF-8"))
        return None
    except OSError as exc:
        problems.append(Problem(source, "", f"must be a readable file, got: {exc.strerror or exc}"))
        return None
    for line, key, first in loader.duplicates:
        problems.append(Problem(source, f"line {line}", f"a key may appear once per mapping, but {key!r} "
                                                        f"was already given on line {first}"))
    if data is None:
        problems.append(Problem(source, "", "is empty; a space, search preset or objectives file is "
                                            "a mapping of keys"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(source, "", f"must be a mapping of keys (key: value lines), got "
                                            f"{_kind_of(data)} {_show(data)}"))
        return None
    return data


_TAGS = {"float", "int", "categorical", "derived", "function-after", "function-before"}


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _show(value: Any) -> str:
    """A value the way the user wrote it in YAML, on one short line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, (dict, list)):
        try:
            text = yaml.dump(value, Dumper=_NoAliasDumper, default_flow_style=True, width=1 << 20,
                             sort_keys=False).strip()
        except Exception:  # noqa: BLE001 - anything YAML gave us can be dumped; this is a fallback
            text = repr(value)
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


#: What a pydantic type error says must hold, in YAML words.
_EXPECTED = {
    "bool_type": "true or false", "bool_parsing": "true or false",
    "int_type": "a valid integer", "int_parsing": "a valid integer", "int_from_float": "a valid integer",
    "float_type": "a valid number", "float_parsing": "a valid number", "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping of keys", "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
}
_COMPARE = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="), "less_than": ("lt", "<"),
            "less_than_equal": ("le", "<=")}
_NAME_PATTERN_WORDS = {
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$": "letters, digits, '_', '.' and '-', starting with a letter or digit",
}


def _unwrap(tp: Any) -> tuple[Any, str | None]:
    """Strip Annotated and Optional from a type; return it and its union discriminator, if any."""
    import types
    import typing

    discriminator = None
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            args = typing.get_args(tp)
            for meta in args[1:]:
                discriminator = getattr(meta, "discriminator", None) or discriminator
            tp = args[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp, discriminator
            tp = members[0]
        else:
            return tp, discriminator


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """A model's keys as written in YAML (aliases included), with their fields."""
    return {(f.alias or name): f for name, f in model.model_fields.items()}


def _walk(root: Any, loc: tuple[Any, ...]) -> tuple[str, Any, bool]:
    """Follow a pydantic error location through the models.

    Returns the key as the user wrote it (union member tags such as ``float`` or ``str`` left
    out, list indices as ``[i]``), the type found there (None where the walk got lost), and
    whether the last step picked a union member (the error is then one member's failure).
    """
    import types
    import typing

    parts: list[str] = []
    tp, at_member, i = root, False, 0
    while tp is not None and i < len(loc):
        tp, discriminator = _unwrap(tp)
        item, origin = loc[i], typing.get_origin(tp)
        at_member = False
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = _fields(tp).get(str(item))
            if field is None:
                break
            parts.append(f".{item}")
            tp = Annotated[field.annotation, field] if field.discriminator else field.annotation
        elif origin is dict:
            parts.append(f".{item}")
            tp = typing.get_args(tp)[1]
        elif origin is list and isinstance(item, int):
            parts.append(f"[{item}]")
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            tp = _member(tp, item, discriminator)
            if tp is None:
                break
            at_member = True
        else:
            break
        i += 1
    rest = [p for p in loc[i:] if str(p) not in _TAGS and p != "[key]"]
    in_list = typing.get_origin(_unwrap(tp)[0]) is list
    parts += [f"[{p}]" if isinstance(p, int) and in_list else f".{p}" for p in rest]
    return "".join(parts).lstrip("."), (tp if i == len(loc) else None), at_member and not rest


def _member(union: Any, tag: Any, discriminator: str | None) -> Any:
    """The member of `union` that pydantic names `tag` in an error location, or None."""
    import typing

    for member in typing.get_args(union):
        if discriminator and isinstance(member, type) and issubclass(member, BaseModel):
            field = _fields(member).get(discriminator)
            if field is not None and tag in typing.get_args(field.annotation):
                return member
        elif not discriminator:
            origin = typing.get_origin(member)
            if tag == getattr(member, "__name__", None) or (
                    origin is not None and str(tag).startswith(getattr(origin, "__name__", "?") + "[")):
                return member
    return None


def _tags(union: Any) -> list[str]:
    """The values a discriminated union's ``type`` may take, in order."""
    import typing

    tp, discriminator = _unwrap(union)
    tags: list[str] = []
    for member in typing.get_args(tp):
        if discriminator and isinstance(member, type) and issubclass(member, BaseModel):
            field = _fields(member).get(discriminator)
            tags += [str(t) for t in typing.get_args(field.annotation)] if field is not None else []
    return tags


def _either(words: list[str]) -> str:
    words = list(dict.fromkeys(words))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _pydantic_problems(source: str, exc: ValidationError) -> list[Problem]:
    """One problem per pydantic error: the key as written in YAML, what must hold, what was given.

    A value that fits no member of a union (``fixed: {lora_r: [4, 8]}``) gives pydantic one error
    per member; they are merged into one line that lists every form the value may take.
    """
    root = globals().get(exc.title)
    root = root if isinstance(root, type) and issubclass(root, BaseModel) else None
    out: list[Problem | None] = []
    unions: dict[str, tuple[int, list[str], Any]] = {}  # key -> (slot in out, forms, value given)
    for err in exc.errors(include_url=False):
        key, here, at_member = _walk(root, tuple(err["loc"]))
        if at_member and err["type"] in _EXPECTED:
            if key not in unions:
                unions[key] = (len(out), [], err.get("input"))
                out.append(None)
            unions[key][1].append(_EXPECTED[err["type"]])
            continue
        out.append(Problem(source, *_message(err, root, key, here)))
    for key, (slot, forms, value) in unions.items():
        if any(other != key and other.startswith((key + ".", key + "[")) for other in unions):
            continue  # a deeper member matched the shape better; its line says more
        forms = [f for f in forms if not (f == "a valid integer" and "a valid number" in forms)]
        msg = f"must be {_either(forms)}, got {_show(value)}"
        if key.startswith("fixed.") and isinstance(value, list):
            name = key.split(".", 1)[1]
            msg += (f"; fixed takes one value, to search over several use params: "
                    f"{{{name}: {{type: categorical, choices: {_show(value)}}}}}")
        out[slot] = Problem(source, key, msg)
    return [p for p in out if p is not None]


def _message(err: Any, root: Any, key: str, here: Any) -> tuple[str, str]:
    """(key, message) for one pydantic error at `key`, where the walk found type `here`."""
    import difflib
    import re

    kind, ctx, loc = err["type"], err.get("ctx") or {}, tuple(err["loc"])
    given = _show(err["input"]) if "input" in err else "nothing"
    if kind == "extra_forbidden":
        parent, _ = _unwrap(_walk(root, loc[:-1])[1])
        known = list(_fields(parent)) if isinstance(parent, type) and issubclass(parent, BaseModel) else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return key, f"unknown key{hint}" + (f"; the keys here are {', '.join(known)}" if known else "")
    if kind == "missing":
        return key, "is required, but not given"
    if kind == "union_tag_invalid":
        tag = err["input"].get("type") if isinstance(err.get("input"), dict) else ctx.get("tag")
        tags = _tags(here) or [str(ctx.get("expected_tags"))]
        return f"{key}.type", f"must be {_either(tags)}, got {_show(tag)}"
    if kind == "union_tag_not_found":
        keys = ", ".join(map(str, err["input"])) if isinstance(err.get("input"), dict) else given
        return key, f"needs a type ({_either(_tags(here) or ['?'])}), got no type among: {keys or 'no keys'}"
    if kind in _EXPECTED:
        msg = f"must be {_EXPECTED[kind]}, got {given}"
        if kind == "model_attributes_type" and key.startswith("params.") and key.count(".") == 1:
            msg += ("; a searched knob is a mapping with a type (float, int, categorical or derived), "
                    "and a single value goes under fixed")
        return key, msg
    if kind in _COMPARE:
        bound, op = _COMPARE[kind]
        limit = ctx.get(bound)
        return key, f"must be {op} {f'{limit:g}' if isinstance(limit, float) else limit}, got {given}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        return key, f"must be {_NAME_PATTERN_WORDS.get(pattern, 'a string matching ' + pattern)}, got {given}"
    if kind in ("value_error", "assertion_error"):
        msg = err["msg"].split(", ", 1)[1] if err["msg"].startswith(("Value error, ", "Assertion failed, ")) \
            else err["msg"]
        # A model validator may name a sub-key itself ("objectives[1].name: ...").
        head, sep, rest = msg.partition(": ")
        if sep and " " not in head and re.fullmatch(r"[A-Za-z0-9_.\[\]]+", head):
            return (f"{key}.{head}" if key else head), rest
        return key, (msg if "got" in msg or "input" not in err else f"{msg}; got {given}")
    simple = {
        "invalid_key": "keys must be strings",
        "finite_number": "must be a finite number",
        "literal_error": f"must be {ctx.get('expected')}",
        "too_short": f"must have at least {ctx.get('min_length')} item(s)",
        "too_long": f"must have at most {ctx.get('max_length')} item(s)",
    }
    msg = simple.get(kind) or err["msg"][:1].lower() + err["msg"][1:]
    return key, f"{msg}, got {given}"


def _model(cls: type[BaseModel], data: Any, source: str, problems: list[Problem]) -> Any:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(source, exc))
        return None


def _check_params(space: SpaceConfig, source: str, problems: list[Problem]) -> None:
    """Cross-field rules a schema cannot express: knob names, conditions, derived values.

    A knob may be named by ``when`` or ``from`` only after it is declared: every ``fixed`` knob
    is declared first, then each ``params`` entry in the order written.
    """
    declared: list[str] = []
    for name, value in space.fixed.items():
        key = f"fixed.{name}"
        if name in space.params:
            problems.append(Problem(source, key, f"is also searched under params.{name}; a knob is either "
                                                 "fixed or searched, not both"))
        knob = KNOBS.get(name)
        declared.append(name)
        if knob is None:
            problems.append(Problem(source, key, _unknown_knob(name)))
            continue
        if isinstance(value, (bool, int, float, str)):  # anything else is a schema error, reported already
            why = _knob_problem(knob, value)
            if why:
                problems.append(Problem(source, key, why))
    for name, spec in space.params.items():
        key = f"params.{name}"
        knob = KNOBS.get(name)
        if knob is None:
            problems.append(Problem(source, key, _unknown_knob(name)))
        elif isinstance(spec, CategoricalParam):
            for i, choice in enumerate(spec.choices):
                why = _knob_problem(knob, choice)
                if why:
                    problems.append(Problem(source, f"{key}.choices[{i}]", why))
        elif isinstance(spec, (FloatParam, IntParam)):
            given = "float" if isinstance(spec, FloatParam) else "int"
            fits = (float,) if given == "float" else (int, float)
            if knob.kind not in fits:
                usable = "int, categorical or derived" if knob.kind is int else "categorical"
                why = f"{name} takes {_takes(knob)}, so type must be {usable} (or the knob fixed); got {given}"
                problems.append(Problem(source, f"{key}.type", why))
            else:
                for bound in ("low", "high"):
                    why = _knob_problem(knob, getattr(spec, bound))
                    if why:
                        problems.append(Problem(source, f"{key}.{bound}", why))
        elif isinstance(spec, DerivedParam):
            _check_derived(space, name, spec, knob, declared, source, problems)
        for other, values in spec.condition().items():
            where = f"{key}.when.{other}"
            if other not in declared:
                problems.append(Problem(source, where, _undeclared(space, other, name)))
                continue
            possible = _possible_values(space, other)
            other_spec = space.params.get(other)
            for value in values:
                if possible is not None and value not in possible:
                    problems.append(Problem(source, where, f"{other} can only be "
                                            f"{', '.join(map(_show, possible))}; got {_show(value)}"))
                elif isinstance(other_spec, FloatParam) and (
                        not isinstance(value, (int, float)) or isinstance(value, bool)
                        or not other_spec.low <= value <= other_spec.high):
                    problems.append(Problem(source, where, f"{other} takes values in [{other_spec.low:g}, "
                                            f"{other_spec.high:g}]; got {_show(value)}"))
        declared.append(name)


def _check_derived(space: SpaceConfig, name: str, spec: DerivedParam, knob: Any, declared: list[str],
                   source: str, problems: list[Problem]) -> None:
    """``value = from * times``: both knobs numeric, `from` declared first, every value allowed."""
    key = f"params.{name}"
    if knob.kind not in (int, float):
        problems.append(Problem(source, f"{key}.type", f"only knobs that take numbers can be derived, "
                                                       f"but {name} takes {_takes(knob)}; got type derived"))
        return
    if spec.from_ not in declared:
        problems.append(Problem(source, f"{key}.from", _undeclared(space, spec.from_, name)))
        return
    source_knob = KNOBS.get(spec.from_)
    if source_knob is None:
        return  # reported as an unknown knob where it is declared
    if source_knob.kind not in (int, float):
        why = f"must name a knob that takes numbers, got {spec.from_!r}, which takes {_takes(source_knob)}"
        problems.append(Problem(source, f"{key}.from", why))
        return
    other = space.params.get(spec.from_)
    values = _possible_values(space, spec.from_)
    if values is None and isinstance(other, (FloatParam, IntParam)):
        values = [other.low, other.high]
    for value in values or []:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue  # a wrong value of `from` is reported where it is given
        product = value * spec.times
        derived = int(round(product)) if knob.kind is int else float(product)
        why = knob.problem(derived)
        if why:
            problems.append(Problem(source, f"{key}.times", f"{spec.from_} = {_show(value)} times "
                                    f"{spec.times:g} gives {name} = {_show(derived)}, but {name} {why}"))
            return


def _takes(knob: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        knob.kind, knob.kind.__name__)


def _undeclared(space: SpaceConfig, other: str, name: str) -> str:
    """Why `name` cannot refer to `other` (not declared before it), with a hint where one helps."""
    import difflib

    if other in space.params:
        hint = f"; {other} is declared after it in params, so move it up"
    elif other in KNOBS:
        hint = f"; {other} is neither fixed nor searched in this space"
    else:
        close = difflib.get_close_matches(other, [*space.fixed, *space.params], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"must name a knob declared before {name} (under fixed, or earlier in params), got {other!r}{hint}"


def _knob_problem(knob: Any, value: Any) -> str | None:
    """`Knob.problem`, plus a hint for a number YAML read as a string (``1e-4`` needs a dot)."""
    import re

    why = knob.problem(value)
    if why and knob.kind in (int, float) and isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return why
        match = re.fullmatch(r"\s*([+-]?\d+)([eE][+-]?\d+)\s*", value)
        if match:
            why += f"; YAML reads {value} as a string, write {match[1]}.0{match[2]}"
        else:
            why += "; it is quoted, so YAML reads it as a string: drop the quotes"
    return why


def _possible_values(space: SpaceConfig, name: str) -> list[Any] | None:
    """Every value knob `name` can take in this space, where that is a short list; else None."""
    if name in space.fixed:
        return [space.fixed[name]]
    spec = space.params.get(name)
    if isinstance(spec, CategoricalParam):
        return list(spec.choices)
    if isinstance(spec, IntParam) and (spec.high - spec.low) // spec.step < 10_000:
        return list(range(spec.low, spec.high + 1, spec.step))
    return None


def _unknown_knob(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, KNOBS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"must be a knob hpsearch knows, got {name!r}{hint}; the knobs are {', '.join(KNOBS)}"


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
    """Validate spaces, search presets and objectives files; return every problem found.

    `load_study` stops at the first stage that fails (the schema; then knobs, conditions and the
    files a space names; then its data). Validation goes on past each stage, so one run reports
    every problem in every file. A bug of ours is still one line naming the file, never a traceback.
    """
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        try:
            _validate_file(path, problems)
        except UserError as exc:
            problems.extend(exc.problems)
        except Exception as exc:  # noqa: BLE001 - not the user's mistake, but still no traceback
            problems.append(Problem(str(path), "", f"could not be checked ({type(exc).__name__}: {exc}); "
                                                   "this is a bug in hpsearch, please report it"))
    return list(dict.fromkeys(problems))


def _file_kind(path: Path, data: dict[Any, Any]) -> str | None:
    """Which of the three files `data` is: by its keys, else by its folder (spaces/, search/, objectives/)."""
    keys = {str(k) for k in data}
    # An objectives file has `objectives: [...]`; a space may name one with `objectives: FILE`.
    if keys & (set(_fields(SpaceConfig)) - {"objectives"}):
        return "space"
    if keys & set(_fields(ObjectivesConfig)):
        return "objectives"
    if keys & set(_fields(SearchConfig)):
        return "search"
    return {"spaces": "space", "search": "search", "objectives": "objectives"}.get(path.resolve().parent.name)


def _validate_file(path: Path, problems: list[Problem]) -> None:
    data = _read_yaml(path, problems)
    if data is None:
        return
    kind = _file_kind(path, data)
    if kind == "objectives":
        load_objectives(path, problems)
    elif kind == "search":
        _check_sampler(path, load_search(path, problems), problems)
    elif kind == "space":
        _validate_space(path, data, problems)
    else:
        problems.append(Problem(str(path), "", (
            "must be a space (keys " + ", ".join(_fields(SpaceConfig)) + "), a search preset (keys "
            + ", ".join(_fields(SearchConfig)) + ") or an objectives file (keys "
            + ", ".join(_fields(ObjectivesConfig)) + "); got keys " + ", ".join(map(str, data)))))


def _check_sampler(path: Path, search: SearchConfig | None, problems: list[Problem]) -> None:
    """Build the preset's Optuna sampler (cheap, no torch): a misspelt option fails here, not in `run`."""
    import warnings

    from hpsearch.samplers import SAMPLERS, make_sampler

    if search is None or search.sampler.name not in SAMPLERS:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make_sampler(search.sampler.name, search.seed, dict(search.sampler.options))
    except (TypeError, ValueError) as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        problems.append(Problem(str(path), "sampler.options", f"must be options the {search.sampler.name} "
                                f"sampler takes, got {_show(search.sampler.options)}: {why}"))


def _validate_space(path: Path, data: dict[Any, Any], problems: list[Problem]) -> None:
    """Everything `load_study` checks, and what it skips once an earlier stage has failed."""
    from pydantic import TypeAdapter

    from hpsearch.data import check_dataset
    from hpsearch.models import resolve_model

    source, base = str(path), path.resolve().parent
    named = {key: base / data[key] for key in ("search", "objectives") if isinstance(data.get(key), str)}
    found: list[Problem] = []
    try:
        load_study(path)
    except UserError as exc:
        found.extend(exc.problems)

    earlier: list[Problem] = []  # what load_study checks before the data; with any, it skipped the data
    extra: list[Problem] = []  # what only validation checks
    space = _model(SpaceConfig, data, source, earlier)
    if space is None:  # the schema failed, so load_study checked nothing else
        params: dict[str, Any] = {}
        for name, raw in (data.get("params") if isinstance(data.get("params"), dict) else {}).items():
            try:
                params[str(name)] = TypeAdapter(ParamSpec).validate_python(raw)
            except ValidationError:  # reported; still declared for `when` and `from`
                params[str(name)] = _ParamBase.model_construct(when=None)
        fixed = data.get("fixed") if isinstance(data.get("fixed"), dict) else {}
        dataset = _model(DatasetConfig, data.get("dataset"), source, [])
        space = SpaceConfig.model_construct(params=params, fixed={str(k): v for k, v in fixed.items()},
                                            dataset=dataset)
    _check_params(space, source, earlier)
    objectives = default_objectives()
    for key, file in named.items():
        if key == "search":
            _check_sampler(file, load_search(file, earlier), extra)
        else:  # without its objectives, a space's need for groups is not known
            objectives = load_objectives(file, earlier) or ObjectivesConfig.model_construct(objectives=[])
    if earlier and space.dataset is not None:
        study = Study.model_construct(path=source, space=space, search=SearchConfig(), objectives=objectives,
                                      base_dir=str(base))
        extra.extend(check_dataset(study))
    model = data.get("model", "minilm")
    if isinstance(model, str):  # as `hpsearch run` resolves it, without loading it
        try:
            resolve_model(model, source)
        except UserError as exc:
            extra.extend(exc.problems)
    for problem in [*found, *earlier, *extra]:
        # a missing file a space names is reported at the space's key, not as a file of its own
        for key, file in named.items():
            if problem.source == str(file) and problem.message == "file not found":
                problem = Problem(source, key, f"file not found: {file}")
        problems.append(problem)


