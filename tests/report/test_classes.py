"""F1 per class of the front and the baselines, and what the summary says where nothing learned: the
text people read, from studies shaped as hpsearch writes them (collapsed trials, learned ones, baselines)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from rich.console import Console

from hpsearch.cli import main
from hpsearch.report import class_table, nothing_learned_advice, print_summary
from hpsearch.report._advice import majority_share

LABELS = ["fair", "poor", "good"]
#: The validation split: 60% fair, 25% poor, 15% good; always predicting 'fair' scores this macro-F1.
TRIVIAL = 2 * 0.6 / (1.6 * 3)
REASON = "collapsed after epoch 1: predicts only 'fair', the majority class"
DISTRIBUTIONS = {"learning_rate": FloatDistribution(1e-5, 1e-2, log=True),
                 "class_weighting": CategoricalDistribution(["none", "balanced"])}


def attrs(f1: dict[str, float], test: dict[str, float] | None = None, **extra: Any) -> dict[str, Any]:
    """What a trial records: macro-F1, F1 per class (validation, test), the trivial predictors."""
    macro = sum(f1.values()) / len(f1)
    out: dict[str, Any] = {"macro_f1": macro, "trivial_majority_macro_f1": TRIVIAL,
                           "trivial_stratified_macro_f1": 0.33, "gain_over_trivial": macro - 0.33,
                           "learned": macro - 0.33 >= 0.05, **{f"f1/{k}": v for k, v in f1.items()}}
    if test is not None:
        out.update({f"test/f1/{k}": v for k, v in test.items()}, **{"test/macro_f1": sum(test.values()) / 3})
    return {**out, **extra}


def collapsed(number_lr: float, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({"learning_rate": number_lr},
            attrs({"fair": 0.75, "poor": 0.0, "good": 0.0}, collapsed=REASON, stopped_after_epoch=1, **extra))


def make_study(storage: str | None = None, learned: bool = False, test: bool = False,
               labels: list[str] = LABELS, tfidf_learned: bool = True) -> optuna.Study:
    """Trial 0 the tfidf baseline, 1 the head baseline (did not learn), 2 and 3 collapsed after epoch 1
    at learning rates >= 1e-3; with `learned`, trial 4 learned but gave up 'good'."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, study_name="grades", directions=["maximize", "minimize"])
    study.set_metric_names(["macro_f1", "latency_p50_ms"])
    study.set_user_attr("labels", labels)
    study.set_user_attr("dataset", "300 train, 100 validation; 3 labels")
    study.set_user_attr("space", {"name": "grades", "model": "minilm", "params": {}, "fixed": {"seed": 0}})
    majority = {"fair": 0.75, "poor": 0.0, "good": 0.0}
    tfidf = {"fair": 0.7, "poor": 0.6, "good": 0.5} if tfidf_learned else {"fair": 0.75, "poor": 0.0, "good": 0.0}
    rows: list[tuple[dict[str, Any], dict[str, Any], float]] = [
        ({}, attrs(tfidf, tfidf if test else None, baseline="tfidf"), 0.2),
        ({}, attrs(majority, majority if test else None, baseline="head"), 3.0),
        (*collapsed(2e-3), 1.0),
        (*collapsed(5e-3), 1.1),
    ]
    if learned:
        rows.append(({"learning_rate": 3e-4}, attrs({"fair": 0.85, "poor": 0.62, "good": 0.04},
                                                     {"fair": 0.8, "poor": 0.55, "good": 0.0} if test else None),
                     2.0))
    for params, user_attrs, latency in rows:
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions={k: DISTRIBUTIONS[k] for k in params},
            values=[user_attrs["macro_f1"], latency], user_attrs=user_attrs))
    return study


def summary(study: optuna.Study, width: int = 120) -> tuple[str, str]:
    """What print_summary prints: the plain text, and the same with its ANSI styles."""
    console = Console(record=True, width=width, force_terminal=True, color_system="standard")
    print_summary(study, console)
    return console.export_text(styles=False, clear=False), console.export_text(styles=True)


def lines_with(text: str, word: str) -> list[str]:
    return [line for line in text.splitlines() if word in line]


def test_the_summary_shows_each_front_trials_f1_per_class_and_marks_what_it_gave_up() -> None:
    text, styled = summary(make_study(learned=True))
    assert "F1 per class on the validation split" in text
    front_at, classes_at = text.index("Pareto front of study 'grades'"), text.index("F1 per class")
    assert front_at < classes_at
    header = lines_with(text[classes_at:], "fair")[0]
    assert re.search(r"trial\s*┃\s*fair\s*┃\s*poor\s*┃\s*good\s*┃\s*gave up", header), header
    row = [line for line in text[classes_at:].splitlines() if re.match(r"\W*4 ", line)][0]
    assert re.search(r"0\.85\s*│\s*0\.62\s*│\s*0\.04 ✗\s*│\s*1 of 3", row), row
    assert re.search(r"0 tfidf\s*│\s*0\.70\s*│\s*0\.60\s*│\s*0\.50\s*│\s*0 of 3", text), text
    assert re.search(r"1 head\s*│\s*0\.75\s*│\s*0\.00 ✗\s*│\s*0\.00 ✗\s*│\s*2 of 3", text), text
    assert "\x1b[1;31m0.04 ✗" in styled  # bold red where the trial gave the class up
    assert "✗ gave up: F1 < 0.1" in text
    assert "Left off the front: 2 collapsed and were stopped early: trial 2 after epoch 1, trial 3 after " \
           "epoch 1 (predicts only 'fair', the majority class)" in " ".join(text.split())
    assert "No fine-tuned trial learned" not in text and "What to change" not in text


def test_the_test_split_is_shown_where_the_trials_measured_one() -> None:
    text, _ = summary(make_study(learned=True, test=True))
    assert "F1 per class on the test split" in text
    assert re.search(r"0\.80\s*│\s*0\.55\s*│\s*0\.00 ✗\s*│\s*1 of 3", text), text


def test_many_labels_turn_the_table_one_row_per_class() -> None:
    labels = [f"category_{i:02d}_with_a_long_name" for i in range(14)]
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["macro_f1", "latency_p50_ms"])
    study.set_user_attr("labels", labels)
    for number in range(2):
        f1 = {label: (0.0 if i == 13 and number == 1 else 0.5 + i / 100) for i, label in enumerate(labels)}
        study.add_trial(optuna.trial.create_trial(values=[0.6 + number / 10, 1.0 + number],
                                                  user_attrs=attrs(f1, learned=True)))
    console = Console(record=True, width=100)
    console.print(class_table(study))
    text = console.export_text()
    assert re.search(r"class\s*┃\s*trial 1\s*┃\s*trial 0", text), text  # best macro-F1 first
    for i, label in enumerate(labels):  # each label whole on one line with its values
        assert len(lines_with(text, label)) == 1, label
    assert re.search(r"category_13_with_a_long_name\s*│\s*0\.00 ✗\s*│\s*0\.63", text), text
    assert re.search(r"gave up\s*│\s*1 of 14\s*│\s*0 of 14", text), text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_no_table_where_no_trial_recorded_f1_per_class() -> None:
    study = optuna.create_study(directions=["maximize"])
    study.add_trial(optuna.trial.create_trial(values=[0.8], user_attrs={"learned": True}))
    assert class_table(study) is None


def test_when_every_fine_tuned_trial_collapsed_the_summary_says_so_and_what_to_change() -> None:
    text, styled = summary(make_study())
    flat = " ".join(text.split())
    assert ("No fine-tuned trial learned: all 2 collapsed or stayed within the margin of the trivial "
            "predictors; nothing is shown as the front.") in flat
    assert "\x1b[1;31mNo fine-tuned trial learned" in styled
    assert "No fine-tuned trial that learned meets the constraints" not in flat
    advice = flat[flat.index("What to change:"):]
    assert ("The classes are imbalanced: the majority class ('fair') is 60% of the validation split (33% were the "
            "3 classes even), and no trial weighted them") in advice
    assert "`class_weighting: balanced` (or `sampling: balanced`)" in advice
    assert "Every trial's learning rate was 0.001 or more (0.002 to 0.005)" in advice
    assert "low: 1.0e-4, high: 1.0e-3" in advice
    assert "2 trials (2, 3) were stopped after epoch 1" in advice and "`collapse: {patience: 2}`" in advice
    assert "The tfidf baseline did learn (macro-F1 0.6, trial 0)" in advice
    assert "`hpsearch init DATA`" in advice
    assert "F1 per class on the validation split" in text  # the baselines' classes, the front being empty


def test_advice_follows_what_the_trials_tried() -> None:
    study = make_study(tfidf_learned=False)
    # One more collapsed trial, with class weighting and a low learning rate: neither is suggested then.
    params, user_attrs = collapsed(1e-4)
    user_attrs.pop("stopped_after_epoch")
    user_attrs["collapsed"] = "collapsed after epoch 3: macro-F1 within 0.02 of the trivial predictors"
    study.add_trial(optuna.trial.create_trial(
        params={**params, "class_weighting": "balanced"}, distributions=DISTRIBUTIONS,
        values=[user_attrs["macro_f1"], 1.0], user_attrs=user_attrs))
    advice = nothing_learned_advice(study)
    assert not any("class_weighting: balanced" in line or "learning rate was" in line for line in advice), advice
    assert any(line.startswith("2 trials (2, 3) were stopped after epoch 1") for line in advice), advice
    assert any(line.startswith("No baseline learned either") for line in advice), advice
    assert advice[-1].startswith("Let `hpsearch init DATA` write a starting space")


def test_mean_pooling_is_suggested_only_where_the_linear_probe_learned_and_no_trial_read_the_mean() -> None:
    study = make_study()
    assert not any("pooling: mean" in line for line in nothing_learned_advice(study))  # no probe in this study
    probe = attrs({"fair": 0.7, "poor": 0.5, "good": 0.4}, baseline="linear_probe", learned=True)
    study.add_trial(optuna.trial.create_trial(values=[probe["macro_f1"], 1.0], user_attrs=probe))
    assert any("Set `pooling: mean`" in line for line in nothing_learned_advice(study))
    params, user_attrs = collapsed(1e-4)
    study.add_trial(optuna.trial.create_trial(params={**params, "pooling": "mean"},
                                              distributions={"learning_rate": DISTRIBUTIONS["learning_rate"],
                                                             "pooling": CategoricalDistribution(["cls", "mean"])},
                                              values=[user_attrs["macro_f1"], 1.0], user_attrs=user_attrs))
    assert not any("pooling: mean" in line for line in nothing_learned_advice(study))


def test_no_advice_where_a_trial_learned() -> None:
    assert nothing_learned_advice(make_study(learned=True)) == []


@pytest.mark.parametrize(("share", "n"), [(0.6, 3), (0.5, 2), (0.2, 5), (0.9, 4)])
def test_the_majority_share_is_read_back_from_the_majority_predictors_macro_f1(share: float, n: int) -> None:
    macro = 2 * share / (1 + share) / n
    assert majority_share(macro, n) == pytest.approx(share)


def test_pareto_table_format_prints_the_per_class_table_after_the_front(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    make_study(url, learned=True)
    assert main(["pareto", "--storage", url, "--study", "grades"]) == 0
    out = capsys.readouterr().out
    assert out.index("Pareto front of study 'grades'") < out.index("F1 per class on the validation split")
    assert "0.04 ✗" in out


def test_the_html_report_has_the_per_class_table_and_says_when_nothing_learned(tmp_path: Path) -> None:
    from hpsearch.report._html import write_report

    text = write_report(make_study(), tmp_path / "collapsed").read_text(encoding="utf-8")
    assert '<div class="plain" id="nothing-learned"><p><strong>No fine-tuned trial learned: all 2 collapsed' in text
    assert "<code>class_weighting: balanced</code>" in text and "<code>hpsearch init DATA</code>" in text
    assert "2 collapsed and were stopped early: trial 2 after epoch 1, trial 3 after epoch 1 (predicts only " \
           "&#x27;fair&#x27;, the majority class)" in text
    assert "<h3>F1 per class on the validation split</h3>" in text
    assert '<td class="gave-up" title="gave up poor">0.00 ✗</td>' in text

    text = write_report(make_study(learned=True, test=True), tmp_path / "learned").read_text(encoding="utf-8")
    assert 'id="nothing-learned"' not in text and "What to change" not in text
    section = text[text.index("<h3>F1 per class on the test split</h3>"):]
    assert "these are the held-out test split&#x27;s F1" in section
    row = re.search(r"<tr><td>4</td>(.*?)</tr>", section)
    assert row and row.group(1) == ('<td>0.80</td><td>0.55</td><td class="gave-up" title="gave up good">0.00 ✗</td>'
                                    '<td class="text">good</td>'), row
