"""The command line: bad input is one line naming file and key, exit 2, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hpsearch.cli import main

from .conftest import ROOT, toy_rows, write_jsonl


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(args)
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def test_shipped_yaml_files_validate(capsys: pytest.CaptureFixture[str]) -> None:
    # the benchmarks' spaces too (they read ../shared/datasets, beside the checkout)
    files = sorted(str(p) for d in ("spaces", "search", "objectives", "benchmarks/spaces")
                   for p in (ROOT / d).glob("*.yaml"))
    assert len(files) >= 9
    code, errors = run_cli(["validate", *files], capsys)
    assert (code, errors) == (0, [])


def _space(tmp_path: Path, body: str) -> Path:
    data = write_jsonl(tmp_path / "data.jsonl", toy_rows(80))  # 20 validation rows: f1_gap has 2 groups of 10
    path = tmp_path / "space.yaml"
    path.write_text(body.replace("DATA", str(data)), encoding="utf-8")
    return path


GOOD = """name: t
dataset: {path: DATA, group_columns: group}
params:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
"""


@pytest.mark.parametrize(
    "body, key, message",
    [
        (GOOD + "colour: blue\n", "colour", "unknown key"),
        (GOOD.replace("low: 1.0e-4", "low: abc"), "params.learning_rate.low", "valid number"),
        (GOOD.replace("DATA", "missing.jsonl"), "dataset.path", "file not found"),
        (GOOD.replace("group_columns: group", "group_columns: group, label_column: category"),
         "dataset.label_column",
         "'category' is not in"),
        (GOOD.replace("group_columns: group", "group_columns: language"), "dataset.group_columns",
         "'language' is not in"),
        (GOOD + "fixed: {lora_rank: 8}\n", "fixed.lora_rank", "did you mean 'lora_r'"),
        (GOOD.replace("log: true}", "log: true"), "line 5", "not valid YAML"),
        (GOOD.replace("low: 1.0e-4, high: 1.0e-2", "low: 1.0e-2, high: 1.0e-4"), "params.learning_rate",
         "low <= high must hold"),
        (GOOD.replace("name: t", "name: t\nmodel: ./no/such/model"), "model", "model directory not found"),
        (GOOD + "search: no-such-preset.yaml\n", "search", "file not found: "),
        (GOOD + "objectives: no-such-objectives.yaml\n", "objectives", "file not found: "),
    ],
)
def test_bad_space_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, key: str, message: str
) -> None:
    space = _space(tmp_path, body)
    db = tmp_path / "study.db"
    code, errors = run_cli(["run", str(space), "--storage", f"sqlite:///{db}"], capsys)
    assert code == 2
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"error: {space}: {key}"), errors[0]
    assert message in errors[0]
    assert not db.exists()


def test_a_bad_scheduler_option_in_run_is_the_one_line_validate_gives(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    preset = tmp_path / "early.yaml"
    preset.write_text("sampler: tpe\nscheduler: {name: mo_asha, options: {reduction_factor: 1}}\n", encoding="utf-8")
    space = _space(tmp_path, GOOD + "search: early.yaml\n")
    db = tmp_path / "study.db"
    code, errors = run_cli(["run", str(space), "--storage", f"sqlite:///{db}"], capsys)
    assert code == 2 and errors == [f"error: {preset}: scheduler.options.reduction_factor: Input should be "
                                    "greater than or equal to 2, got 1"]
    assert not db.exists()


def test_every_problem_in_every_file_is_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _space(tmp_path, GOOD + "colour: blue\nfixed: {epochs: 0}\n")
    b = tmp_path / "b.yaml"
    b.write_text("sampler: {name: annealing}\ntrials: -1\n", encoding="utf-8")
    code, errors = run_cli(["validate", str(a), str(b)], capsys)
    assert code == 2
    assert any(f"{a}: colour: unknown key" in e for e in errors)
    assert any(f"{b}: trials:" in e for e in errors), errors


def test_bad_database_url_exits_2_without_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = _space(tmp_path, GOOD.replace("name: t", f"name: t\nmodel: {tmp_path}"))
    (tmp_path / "config.json").write_text("{}")
    code, errors = run_cli(["run", str(space), "--storage", "notaurl://user:hunter2@"], capsys)
    assert code == 2 and len(errors) == 1
    assert "hunter2" not in errors[0]


def test_validate_and_help_do_not_import_torch_or_ray() -> None:
    code = (
        "import sys; from hpsearch.cli import main\n"
        f"rc = main(['validate', *{[str(p) for p in sorted((ROOT / 'spaces').glob('*.yaml'))]!r}])\n"
        "heavy = [m for m in ('torch', 'ray', 'transformers', 'peft') if m in sys.modules]\n"
        "print(rc, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"


def test_help_does_not_import_the_data_libraries() -> None:
    """`datasets`, presidio (spaCy, torch) and datasketch load when data is read or checked, not before."""
    code = (
        "import sys; from hpsearch.cli import main\n"
        "try:\n    main(['data', 'check', '--help'])\nexcept SystemExit as exc:\n    rc = exc.code\n"
        "heavy = [m for m in ('torch', 'ray', 'datasets', 'presidio_analyzer', 'spacy', 'datasketch')\n"
        "         if m in sys.modules]\n"
        "print(rc, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"


def test_dry_run_prints_the_resolved_space(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ROOT / "spaces" / "legal.yaml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "learning_rate" in out and "log" in out
    assert "lora_alpha" in out and "lora_r x 2" in out
    assert "macro_f1" in out and "latency_p50_ms" in out
    assert "hardware:" in out and "torch" in out
    assert "quantization int8: training as `precision` says, then torch dynamic int8" in out.replace("\n", " ")


def test_dry_run_says_what_precision_auto_trains_in(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hpsearch.trial._hardware.cpu_flags", lambda: {"avx2"})
    assert main(["run", str(ROOT / "spaces" / "legal.yaml"), "--dry-run"]) == 0
    out = capsys.readouterr().out.replace("\n", " ")
    assert "precision auto: trains in fp32" in out and "neither AMX-BF16 nor AVX512-BF16" in out
    monkeypatch.setattr("hpsearch.trial._hardware.cpu_flags", lambda: {"avx2", "avx512_bf16"})
    assert main(["run", str(ROOT / "spaces" / "legal.yaml"), "--dry-run"]) == 0
    assert "precision auto: trains in bf16" in capsys.readouterr().out.replace("\n", " ")


def test_dry_run_warns_of_bf16_where_the_cpu_has_no_bf16(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    space = tmp_path / "bf16.yaml"
    text = (ROOT / "spaces" / "legal.yaml").read_text(encoding="utf-8")
    text = text.replace("search: ../search/default.yaml", f"search: {ROOT}/search/default.yaml")
    text = text.replace("objectives: ../objectives/default.yaml", f"objectives: {ROOT}/objectives/default.yaml")
    space.write_text(text + "  precision: bf16\n", encoding="utf-8")  # under fixed:, the file's last section
    monkeypatch.setattr("hpsearch.trial._hardware.cpu_flags", lambda: {"avx2"})
    assert main(["run", str(space), "--dry-run"]) == 0
    out = capsys.readouterr().out.replace("\n", " ")
    assert "precision bf16 cannot run here" in out and "AVX512-BF16" in out
    monkeypatch.setattr("hpsearch.trial._hardware.cpu_flags", lambda: {"avx2", "amx_bf16"})
    assert main(["run", str(space), "--dry-run"]) == 0
    assert "precision bf16 cannot run here" not in capsys.readouterr().out


def _study_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    import optuna

    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(storage=url, study_name="legal", directions=["maximize", "minimize"])
    study.set_metric_names(["macro_f1", "f1_gap"])
    for values in ([0.8, 0.2], [0.7, 0.1], [0.6, 0.3]):
        study.add_trial(optuna.trial.create_trial(values=values, user_attrs={"learned": True}))
    capsys.readouterr()  # Optuna's log lines
    return url


@pytest.mark.parametrize("command", [["pareto"], ["pareto", "--format", "json"], ["report", "--out", "OUT"]])
def test_unknown_study_exits_2_naming_study(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            command: list[str]) -> None:
    url = _study_db(tmp_path, capsys)
    args = [a.replace("OUT", str(tmp_path / "out")) for a in command]
    code, errors = run_cli([*args, "--storage", url, "--study", "nope"], capsys)
    assert code == 2 and len(errors) == 1
    assert errors[0].startswith("error: --study: no study named 'nope'") and "legal" in errors[0]
    assert not (tmp_path / "out").exists()


def test_report_prints_the_html_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = _study_db(tmp_path, capsys)
    assert main(["report", "--storage", url, "--study", "legal", "--out", str(tmp_path / "out")]) == 0
    path = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert path.parent == tmp_path / "out" and path.suffix == ".html" and path.is_file()


def test_pareto_report_dashboard_help_do_not_import_torch_or_ray() -> None:
    code = (
        "import sys, contextlib, io; from hpsearch.cli import main\n"
        "for cmd in ('pareto', 'report', 'dashboard'):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        main([cmd, '--help'])\n"
        "print([m for m in ('torch', 'ray', 'transformers', 'peft') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_report_to_a_path_that_cannot_be_a_folder_is_one_line_naming_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = _study_db(tmp_path, capsys)
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    code, errors = run_cli(["report", "--storage", url, "--study", "legal", "--out", str(tmp_path / "a-file" / "x")],
                           capsys)
    assert code == 2 and len(errors) == 1 and errors[0].startswith("error: --out: cannot write the report to")


@pytest.mark.parametrize("command", [["pareto", "--study", "legal"], ["report", "--study", "legal", "--out", "out"],
                                     ["dashboard", "--port", "0"]])
def test_reading_commands_create_no_database(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             command: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'missing.db'}"
    code, errors = run_cli([*command, "--storage", url], capsys)
    assert code == 2 and len(errors) == 1 and errors[0].startswith("error: --storage: no study database at")
    assert not (tmp_path / "missing.db").exists()


def test_validate_of_a_space_that_redacts_personal_data_imports_no_torch(tmp_path: Path) -> None:
    """Redaction loads presidio, which loads spaCy and torch: validation reads the data, it does not prepare it."""
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"text": f"w{i} mail a{i}@example.org", "label": "ab"[i % 2],
                                                          "group": "xy"[i % 2]}) + "\n" for i in range(40)))
    space = tmp_path / "s.yaml"
    space.write_text("name: s\nmodel: minilm\ndataset: {path: d.jsonl, group_columns: group, redact_pii: true}\n")
    code = (
        "import sys; from hpsearch.cli import main\n"
        f"rc = main(['validate', {str(space)!r}])\n"
        "print(rc, [m for m in ('torch', 'presidio_analyzer') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"


def test_a_study_out_of_failures_says_how_to_go_on_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import hpsearch.cli as cli
    from hpsearch.study._ledger import StudyFailing

    def failing(args, console) -> int:
        raise StudyFailing("10 trials of study 'legal' failed (max_failed_trials 10); the last: no CUDA")

    monkeypatch.setattr(cli, "_run", failing)
    code, lines = run_cli(["run", str(ROOT / "spaces" / "legal.yaml")], capsys)
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("error: 10 trials of study 'legal' failed") and "the last: no CUDA" in lines[0]
    assert "raise max_failed_trials" in lines[0] and "--study" in lines[0]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"])
def test_an_in_memory_sqlite_database_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str) -> None:
    """It would hold the study only until the command ends: `pareto`, `report` and a second run find nothing."""
    space = _space(tmp_path, GOOD)
    for command in (["run", str(space)], ["pareto", "--study", "t"]):
        code, errors = run_cli([*command, "--storage", url], capsys)
        assert code == 2 and len(errors) == 1
        assert errors[0] == (f"error: --storage: {url} is an in-memory SQLite database, which keeps nothing once "
                             "the command ends: name a file, e.g. sqlite:///hpsearch.db")


@pytest.mark.parametrize("url, module", [("mysql+pymysql://root:s3cret@127.0.0.1:3306/x", "pymysql"),
                                         ("postgresql+psycopg2://u:s3cret@127.0.0.1/x", "psycopg2")])
def test_a_database_url_whose_driver_is_not_installed_names_the_module(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, module: str) -> None:
    """SQLAlchemy's own 'Please install appropriate one' names neither the module nor what hpsearch ships
    with; nothing is written and the password stays masked."""
    import importlib.util

    assert importlib.util.find_spec(module) is None  # the case under test: this environment lacks it
    space = _space(tmp_path, GOOD)
    for command in (["run", str(space)], ["pareto", "--study", "t"]):
        code, errors = run_cli([*command, "--storage", url], capsys)
        assert code == 2 and len(errors) == 1, errors
        assert errors[0].startswith(f"error: --storage: cannot open {url.replace('s3cret', '***')}: its driver, "
                                    f"the Python module {module!r}, is not installed")
    assert not any(tmp_path.glob("*.db"))
