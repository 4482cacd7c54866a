"""`hpsearch validate`: every problem in every file at once, spaces, search presets and objectives
files alike, without importing torch or Ray.

`load_plan` stops at the first stage that fails; validation goes on past each stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from hpsearch.config import read_yaml, validate_model, yaml_keys
from hpsearch.data import DatasetConfig
from hpsearch.errors import Problem, UserError
from hpsearch.objectives import ObjectivesConfig, default_objectives, load_objectives
from hpsearch.plan._load import Plan, _at_key, check_data_fits, load_plan
from hpsearch.search import SearchConfig, check_sampler, load_search
from hpsearch.space import ParamBase, ParamSpec, SpaceConfig, check_params, resolve_model


def validate_files(paths: list[str]) -> list[Problem]:
    """Validate spaces, search presets and objectives files; return every problem found.

    `load_plan` stops at the first stage that fails (the schema; then knobs, conditions and the
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
    if keys & (set(yaml_keys(SpaceConfig)) - {"objectives"}):
        return "space"
    if keys & set(yaml_keys(ObjectivesConfig)):
        return "objectives"
    if keys & set(yaml_keys(SearchConfig)):
        return "search"
    return {"spaces": "space", "search": "search", "objectives": "objectives"}.get(path.resolve().parent.name)


def _validate_file(path: Path, problems: list[Problem]) -> None:
    data = read_yaml(path, problems)
    if data is None:
        return
    kind = _file_kind(path, data)
    if kind == "objectives":
        load_objectives(path, problems)
    elif kind == "search":
        check_sampler(path, load_search(path, problems), problems)
    elif kind == "space":
        _validate_space(path, data, problems)
    else:
        problems.append(Problem(str(path), "", (
            "must be a space (keys " + ", ".join(yaml_keys(SpaceConfig)) + "), a search preset (keys "
            + ", ".join(yaml_keys(SearchConfig)) + ") or an objectives file (keys "
            + ", ".join(yaml_keys(ObjectivesConfig)) + "); got keys " + ", ".join(map(str, data)))))


def _validate_space(path: Path, data: dict[Any, Any], problems: list[Problem]) -> None:
    """Everything `load_plan` checks, and what it skips once an earlier stage has failed."""
    source, base = str(path), path.resolve().parent
    named = {key: base / data[key] for key in ("search", "objectives") if isinstance(data.get(key), str)}
    found: list[Problem] = []
    try:
        load_plan(path)
    except UserError as exc:
        found.extend(exc.problems)

    earlier: list[Problem] = []  # what load_plan checks before the data; with any, it skipped the data
    extra: list[Problem] = []  # what only validation checks
    space = validate_model(SpaceConfig, data, source, earlier)
    if space is None:  # the schema failed, so load_plan checked nothing else
        params: dict[str, Any] = {}
        for name, raw in (data.get("params") if isinstance(data.get("params"), dict) else {}).items():
            try:
                params[str(name)] = TypeAdapter(ParamSpec).validate_python(raw)
            except ValidationError:  # reported; still declared for `when` and `from`
                params[str(name)] = ParamBase.model_construct(when=None)
        fixed = data.get("fixed") if isinstance(data.get("fixed"), dict) else {}
        dataset = validate_model(DatasetConfig, data.get("dataset"), source, [])
        space = SpaceConfig.model_construct(params=params, fixed={str(k): v for k, v in fixed.items()},
                                            dataset=dataset)
    check_params(space, source, earlier)
    objectives = default_objectives()
    for key, file in named.items():
        if key == "search":
            check_sampler(file, load_search(file, earlier), extra)
        else:  # without its objectives, a space's need for groups is not known
            objectives = load_objectives(file, earlier) or ObjectivesConfig.model_construct(objectives=[])
    if earlier and space.dataset is not None:
        plan = Plan.model_construct(path=source, space=space, search=SearchConfig(), objectives=objectives,
                                    base_dir=str(base))
        extra.extend(check_data_fits(plan))
    model = data.get("model", "minilm")
    if isinstance(model, str):  # as `hpsearch run` resolves it, without loading it
        try:
            revision = data.get("model_revision")
            resolve_model(model, source, base=base, hub=False, revision=revision if isinstance(revision, str) else None)
        except UserError as exc:
            extra.extend(exc.problems)
    every = [*found, *earlier, *extra]
    for key, file in named.items():  # a missing file a space names: at the space's key, as `run` says it
        _at_key(every, file, source, key)
    problems.extend(every)
