"""Shared fixtures: tiny random models built from configs, small datasets, the real curated sets."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("HPSEARCH_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def need(condition: bool, why: str) -> None:
    """Skip locally when a service or file is missing; in CI that is a failure, never a skip."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI requires it: {why}")
    pytest.skip(why)


def save_tiny_model(path: Path, config_class: str, model_class: str, **config: int) -> Path:
    """A randomly initialised model built from a config, saved with the packaged MiniLM's tokenizer."""
    import torch
    import transformers
    from transformers import AutoTokenizer

    from hpsearch.space import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm"))
    sizes = {"hidden_size": 32, "intermediate_size": 64, **config}
    model_config = getattr(transformers, config_class)(
        vocab_size=tokenizer.vocab_size, num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=128,
        **sizes,
    )
    torch.manual_seed(0)
    getattr(transformers, model_class)(model_config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT (hidden 32): seconds to train."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny-bert"), "BertConfig", "BertForSequenceClassification")


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama-style decoder (hidden 32); its config names no pad token."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny-llama"), "LlamaConfig", "LlamaForSequenceClassification",
                           num_key_value_heads=2)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def toy_rows(n: int = 120, seed: int = 0) -> list[dict]:
    """A learnable 3-class toy task with two groups."""
    rng = random.Random(seed)
    words = {"bug": ["crash", "error", "broken", "fails"], "feature": ["add", "support", "new", "option"],
             "question": ["how", "why", "what", "help"]}
    rows = []
    for i in range(n):
        label = ["bug", "feature", "question"][i % 3]
        text = " ".join(rng.choice(words[label]) for _ in range(4)) + f" item {i}"
        rows.append({"text": text, "label": label, "group": "a" if i % 2 else "b"})
    return rows


@pytest.fixture
def toy_space(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """A space over the tiny model and a toy dataset; returns the YAML path."""
    data = write_jsonl(tmp_path / "toy.jsonl", toy_rows())
    space = tmp_path / "toy.yaml"
    space.write_text(
        f"""name: toy
model: {tiny_model_dir}
dataset:
  path: {data}
  group_columns: group
params:
  learning_rate: {{type: float, low: 1.0e-3, high: 1.0e-2, log: true}}
  batch_size: {{type: categorical, choices: [8, 16]}}
fixed:
  epochs: 1
  max_length: 16
""",
        encoding="utf-8",
    )
    return space


@pytest.fixture(autouse=True, scope="module")
def _close_study_databases():
    """Tests open study databases freely and leave them to the garbage collector; after each module
    their pooled connections are closed, so the suite stays within PostgreSQL's connection limit
    (100 here: with every module's idle connections kept, a test whose drivers and Ray workers
    connect too was refused)."""
    yield
    import gc

    from optuna.storages import RDBStorage

    for storage in [o for o in gc.get_objects() if isinstance(o, RDBStorage)]:
        storage.engine.dispose()
