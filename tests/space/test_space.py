from __future__ import annotations

from pathlib import Path

import optuna

from hpsearch.plan import load_plan
from hpsearch.space import suggest

from ..conftest import toy_rows, write_jsonl

SPACE = """name: s
model: minilm
dataset: {path: DATA, group_columns: group}
params:
  method: {type: categorical, choices: [lora, head]}
  lora_r: {type: categorical, choices: [4, 8], when: {method: lora}}
  lora_alpha: {type: derived, from: lora_r, times: 2, when: {method: lora}}
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
  epochs: {type: int, low: 1, high: 3}
fixed:
  max_length: 32
"""


def test_conditional_and_derived_parameters(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", toy_rows(80))  # 20 validation rows: f1_gap has 2 groups of 10
    path = tmp_path / "s.yaml"
    path.write_text(SPACE.replace("DATA", str(data)), encoding="utf-8")
    space = load_plan(path).space
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(20):
        trial = study.ask()
        values = suggest(space, trial)
        assert values["max_length"] == 32
        assert 1e-4 <= values["learning_rate"] <= 1e-2 and 1 <= values["epochs"] <= 3
        if values["method"] == "lora":
            assert values["lora_alpha"] == 2 * values["lora_r"]
        else:
            assert "lora_r" not in values and "lora_r" not in trial.params
        seen.add(values["method"])
        study.tell(trial, 0.0)
    assert seen == {"lora", "head"}
