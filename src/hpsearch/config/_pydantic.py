"""Pydantic's validation errors in YAML words: one line per mistake, at the key the user wrote.

``file: key: what must hold, got what was given``. A value that fits no member of a union gives
pydantic one error per member; they become one line listing every form the value may take.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError

from hpsearch.config._yaml import show
from hpsearch.errors import Problem

_TAGS = {"float", "int", "categorical", "derived", "function-after", "function-before"}

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


def yaml_keys(model: type[BaseModel]) -> dict[str, Any]:
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
            field = yaml_keys(tp).get(str(item))
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
            field = yaml_keys(member).get(discriminator)
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
            field = yaml_keys(member).get(discriminator)
            tags += [str(t) for t in typing.get_args(field.annotation)] if field is not None else []
    return tags


def _either(words: list[str]) -> str:
    words = list(dict.fromkeys(words))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def pydantic_problems(source: str, exc: ValidationError, root: type[BaseModel] | None = None) -> list[Problem]:
    """One problem per pydantic error: the key as written in YAML, what must hold, what was given.

    A value that fits no member of a union (``fixed: {lora_r: [4, 8]}``) gives pydantic one error
    per member; they are merged into one line that lists every form the value may take.
    `root` is the model that was validated: keys are found by walking its fields.
    """
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
        msg = f"must be {_either(forms)}, got {show(value)}"
        if key.startswith("fixed.") and isinstance(value, list):
            name = key.split(".", 1)[1]
            msg += (f"; fixed takes one value, to search over several use params: "
                    f"{{{name}: {{type: categorical, choices: {show(value)}}}}}")
        out[slot] = Problem(source, key, msg)
    return [p for p in out if p is not None]


def _message(err: Any, root: Any, key: str, here: Any) -> tuple[str, str]:
    """(key, message) for one pydantic error at `key`, where the walk found type `here`."""
    import difflib
    import re

    kind, ctx, loc = err["type"], err.get("ctx") or {}, tuple(err["loc"])
    given = show(err["input"]) if "input" in err else "nothing"
    if kind == "extra_forbidden":
        parent, _ = _unwrap(_walk(root, loc[:-1])[1])
        known = list(yaml_keys(parent)) if isinstance(parent, type) and issubclass(parent, BaseModel) else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return key, f"unknown key{hint}" + (f"; the keys here are {', '.join(known)}" if known else "")
    if kind == "missing":
        return key, "is required, but not given"
    if kind == "union_tag_invalid":
        tag = err["input"].get("type") if isinstance(err.get("input"), dict) else ctx.get("tag")
        tags = _tags(here) or [str(ctx.get("expected_tags"))]
        return f"{key}.type", f"must be {_either(tags)}, got {show(tag)}"
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


def validate_model(cls: type[BaseModel], data: Any, source: str, problems: list[Problem]) -> Any:
    """`data` validated as `cls`, or None with every mistake added to `problems`."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems.extend(pydantic_problems(source, exc, cls))
        return None
