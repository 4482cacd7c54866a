"""What a trial trained, packed to travel to the driver and into Optuna's artifact store, and the
versions that make it reproducible.

* ``lora``: the PEFT adapter as ``save_pretrained`` writes it (``adapter_config.json``,
  ``adapter_model.safetensors``; the classification head trained in full rides along as
  ``modules_to_save``), loadable with ``peft.PeftModel.from_pretrained(base, DIR)``;
* ``head``: the trained parameters only (the classifier on a frozen base), ``head.safetensors``;
* ``full``: not packed; the whole model is the base model's size, and the configuration retrains it.

A pack is a gzip'd tar of that directory.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path
from typing import Any

#: The artifact kinds, by method.
KINDS = {"lora": "lora_adapter", "head": "head"}


def versions() -> dict[str, str]:
    """hpsearch, torch, transformers, peft and optuna as installed where the trial ran."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("hpsearch", "torch", "transformers", "peft", "optuna", "bitsandbytes"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def pack_trained(model: Any, method: str) -> tuple[str, bytes] | None:
    """(kind, gzip'd tar) of what training changed in `model`; None for ``full``."""
    kind = KINDS.get(method)
    if kind is None:
        return None
    with tempfile.TemporaryDirectory(prefix="hpsearch-artifact-") as tmp:
        root = Path(tmp)
        if method == "lora":
            model.save_pretrained(root)
        else:
            from safetensors.torch import save_file

            trained = {name: p.detach().cpu().contiguous() for name, p in model.named_parameters() if p.requires_grad}
            save_file(trained, str(root / "head.safetensors"))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    tar.add(path, arcname=str(path.relative_to(root)))
    return kind, buffer.getvalue()


def unpack_trained(data: bytes, into: Path) -> Path:
    """Extract a pack into the directory `into` (made if needed); return it."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(into, filter="data")
    return into
