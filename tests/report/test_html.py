"""The HTML report: written for every kind of study, self-contained, and drawn by a real browser
(headless Chromium) without a JavaScript error."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from hpsearch.report._html import write_report
from hpsearch.report._view import gather, hypervolume, importances

from ..conftest import ROOT, need

NAMES = ["macro_f1", "f1_gap", "latency_p50_ms"]
DIRECTIONS = ["maximize", "minimize", "minimize"]
DISTRIBUTIONS = {"learning_rate": FloatDistribution(1e-5, 1e-2, log=True), "lora_r": IntDistribution(2, 32),
                 "batch_size": CategoricalDistribution([8, 16, 32])}
GAPS = ["f1_gap", "accuracy_gap", "worst_group_f1", "equalized_odds_difference", "demographic_parity_difference"]


def metrics(f1: float, gap: float, latency: float, learned: bool = True, grouped: bool = True) -> dict:
    attrs = {"macro_f1": f1, "accuracy": f1 + 0.03, "f1_gap": gap, "accuracy_gap": gap / 2, "worst_group_f1": f1 - gap,
             "equalized_odds_difference": gap / 3, "demographic_parity_difference": gap / 4,
             "latency_p50_ms": latency, "latency_p95_ms": latency * 1.4, "throughput_per_s": 1000 / latency,
             "model_size_mb": 87.0, "trainable_params": 12345, "train_seconds": 30.0,
             "trivial_majority_macro_f1": 0.15, "trivial_stratified_macro_f1": 0.2, "gain_over_trivial": f1 - 0.2,
             "learned": learned, "device": {"cpu": "Test CPU <x86>", "gpu": None, "torch": "2.13.0", "threads": 2,
                                            "cpus": 2},
             "history": [{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5}]}
    for name in GAPS:
        attrs[f"{name}_ci_low"], attrs[f"{name}_ci_high"] = attrs[name] - 0.05, attrs[name] + 0.05
    if grouped:
        for column, groups in {"jurisdiction": ["EU", "US & UK"], "language": ["en", "de"]}.items():
            for k, group in enumerate(groups):
                prefix = f"group/{column}={group}"
                attrs.update({f"{prefix}/macro_f1": f1 - k * gap, f"{prefix}/accuracy": f1, f"{prefix}/n": 45})
    return attrs


def synthetic_study(name: str = "legal <demo> & \"quotes\"", directions: list[str] = DIRECTIONS,
                    tuned: int = 12, not_learned: set[int] = frozenset({3, 7, 10}), baselines: bool = True,
                    grouped: bool = True) -> optuna.Study:
    """A study shaped as hpsearch writes it: fine-tuned trials (some did not learn), baselines, a failure."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, directions=directions)
    n = len(directions)
    study.set_metric_names(NAMES[:n])
    study.set_user_attr("dataset", "270 train, 90 validation; 5 labels")
    study.set_user_attr("dataset_fingerprint", "sha256:0123abcd")
    study.set_user_attr("labels", ["termination", "liability", "payment", "confidentiality", "<other>"])
    study.set_user_attr("space", {"name": "legal", "model": "minilm", "dataset": {"path": "legal.jsonl"},
                                  "params": {}, "fixed": {}})
    study.set_user_attr("space_file", "spaces/legal.yaml")
    study.set_user_attr("hpsearch_version", "0.1.0")
    study.set_user_attr("constraints", [])
    if baselines:
        for kind, values in [("tfidf", (0.9, 0.05, 0.2)), ("head", (0.55, 0.2, 4.0))]:
            study.add_trial(create_trial(values=list(values[:n]), user_attrs={"baseline": kind, **metrics(
                *values, grouped=grouped)}))
    for i in range(tuned):
        learned = i not in not_learned
        f1 = 0.45 + 0.035 * i if learned else 0.2
        gap, latency = 0.3 - 0.015 * ((i * 7) % tuned), 2.0 + 0.25 * ((i * 5) % tuned)
        params = {"learning_rate": 10 ** (-4 - (i % 3) / 2), "lora_r": 2 + 2 * i, "batch_size": [8, 16, 32][i % 3]}
        study.add_trial(create_trial(params=params, distributions=DISTRIBUTIONS, values=[f1, gap, latency][:n],
                                     user_attrs=metrics(f1, gap, latency, learned, grouped)))
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": "CUDA out of memory <oom>"}))
    return study


def test_the_report_holds_every_part(tmp_path: Path) -> None:
    html = write_report(synthetic_study(), tmp_path)
    text = html.read_text(encoding="utf-8")
    assert html.name == "legal_demo_quotes.html"
    for name in ["front_macro_f1_vs_f1_gap.png", "front_macro_f1_vs_latency_p50_ms.png",
                 "front_f1_gap_vs_latency_p50_ms.png", "hypervolume.png", "importances.png"]:
        assert (tmp_path / name).stat().st_size > 5000, name
    assert "Study legal &lt;demo&gt; &amp; &quot;quotes&quot;" in text and "<demo>" not in text
    assert "sha256:0123abcd" in text and "&lt;other&gt;" in text and "Test CPU &lt;x86&gt;" in text
    assert "CUDA out of memory &lt;oom&gt;" in text
    assert "Left off the front: 3 did not beat the trivial predictors" in text
    assert "the baseline TF-IDF + LR (trial 0: 0.9) beats every trial on the front" in text
    assert "macro-F1 by jurisdiction" in text and "US &amp; UK" in text and "f1_<wbr>gap ↓" in text
    assert "Trials: 14 complete, 1 failed." in text
    assert "reference point" in text
    assert text.count("Plotly.newPlot") == 6  # three projections, 3-D, hypervolume, importances
    assert text.count("<script type=\"text/javascript\">/**\n* plotly.js") <= 1
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", text, re.I)


def test_the_report_says_what_early_stopping_stopped(tmp_path: Path) -> None:
    study = synthetic_study("stopped")
    history = [{"epoch": 1.0, "epochs": 4.0, "macro_f1": 0.1}]
    study.add_trial(create_trial(state=TrialState.PRUNED, params={"learning_rate": 1e-3, "lora_r": 8, "batch_size": 8},
                                 distributions=DISTRIBUTIONS,
                                 user_attrs={"stopped_after_epoch": 1, "history": history,
                                             "pruned_reason": "stopped early by mo_asha after epoch 1"}))
    text = write_report(study, tmp_path).read_text(encoding="utf-8")
    assert ("Stopped early by the scheduler (PRUNED, never on the front): 1 trial(s), 1 after epoch 1; 3 of the 4 "
            "epochs it was to train not run.") in text
    assert "Trials: 14 complete, 1 pruned, 1 failed." in text


def test_the_report_lists_the_hub_commits_the_trials_loaded(tmp_path: Path) -> None:
    """Two commits of one hub id in a study (one an earlier hpsearch ran on, after its `main` moved):
    the report shows both."""
    from hpsearch.report._html import provenance

    study = synthetic_study("moved")
    assert "model commit" not in provenance(gather(study))  # a packaged model records none
    for commit in ["0123abc"] * 2 + ["89abcde"]:
        study.add_trial(create_trial(params={"learning_rate": 1e-3, "lora_r": 8, "batch_size": 8},
                                     distributions=DISTRIBUTIONS, values=[0.5, 0.1, 3.0],
                                     user_attrs={**metrics(0.5, 0.1, 3.0), "model_revision": commit}))
    facts = provenance(gather(study))
    assert "<dt>model commit</dt><dd>0123abc (2 trial(s))</dd><dt></dt><dd>89abcde (1 trial(s))</dd>" in facts
    assert "89abcde (1 trial(s))" in write_report(study, tmp_path).read_text(encoding="utf-8")


def test_the_report_counts_trials_and_baselines_apart_per_device(tmp_path: Path) -> None:
    """The provenance says how many fine-tuning trials and how many baselines ran on each device."""
    from hpsearch.report._html import provenance

    study = synthetic_study("devices", tuned=0, baselines=False)
    cpu, gpu = {"device": "cpu", "cpu": "AMD EPYC"}, {"device": "cuda", "gpu": "NVIDIA H100"}
    for kind in ("tfidf", "head"):
        study.add_trial(create_trial(values=[0.6, 0.1, 0.2], user_attrs={"baseline": kind, **metrics(0.6, 0.1, 0.2),
                                                                         "device": cpu}))
    for i, device in enumerate([gpu, gpu, gpu, gpu, cpu]):
        study.add_trial(create_trial(params={"learning_rate": 1e-3, "lora_r": 2 + 2 * i, "batch_size": 8},
                                     distributions=DISTRIBUTIONS, values=[0.5, 0.1, 3.0],
                                     user_attrs={**metrics(0.5, 0.1, 3.0), "device": device}))
    facts = provenance(gather(study))
    assert ("<dt>device</dt><dd>device cuda; gpu NVIDIA H100 (4 trial(s))</dd>"
            "<dt></dt><dd>device cpu; cpu AMD EPYC (1 trial(s), 2 baseline(s))</dd>") in facts


def test_seed_reruns_by_confirm_stay_out_of_the_hypervolume_and_the_importances(tmp_path: Path) -> None:
    """A lucky seed of a confirmed trial is not a point the front may hold: the hypervolume history
    must not climb with it, and the same parameters again must not weigh in the importances."""
    plain, confirmed = synthetic_study("plain"), synthetic_study("confirmed")
    original = max(confirmed.get_trials(states=[TrialState.COMPLETE]), key=lambda t: t.values[0])
    for seed in (1, 2):  # better than everything on every objective
        confirmed.add_trial(create_trial(params=original.params, distributions=original.distributions,
                                         values=[0.99, 0.0, 1.0], user_attrs={**metrics(0.99, 0.0, 1.0),
                                         "confirm_of": original.number, "config": {"seed": seed}}))
    view, reference = gather(confirmed), gather(plain)
    assert len(view.tuned) == len(reference.tuned) + 2 and len(view.searched) == len(reference.tuned)
    hv, hv_plain = hypervolume(view), hypervolume(reference)
    assert hv.numbers == hv_plain.numbers and hv.values == pytest.approx(hv_plain.values)
    assert importances(view) == importances(reference)
    text = write_report(confirmed, tmp_path).read_text(encoding="utf-8")
    assert text.count("The 2 seed re-run(s) by <code>hpsearch confirm</code> are left out") == 2


@pytest.mark.parametrize("study", [
    pytest.param(lambda: synthetic_study(tuned=0, baselines=False), id="no complete trials"),
    pytest.param(lambda: synthetic_study(directions=["maximize"]), id="single objective"),
    pytest.param(lambda: synthetic_study(directions=["maximize", "minimize"], grouped=False), id="no groups"),
    pytest.param(lambda: synthetic_study(baselines=False), id="no baselines"),
    pytest.param(lambda: synthetic_study(tuned=4, not_learned=set(range(4))), id="only not learned"),
    pytest.param(lambda: synthetic_study(tuned=2, baselines=False), id="too few for importances"),
])
def test_the_report_is_written_for_any_study(study, tmp_path: Path) -> None:
    html = write_report(study(), tmp_path)
    text = html.read_text(encoding="utf-8")
    assert text.rstrip().endswith("</html>") and "Study legal" in text
    assert list(tmp_path.glob("front_*.png"))


# --- in a real browser -----------------------------------------------------------------------------

#: Headless, offline, no first-run or background traffic; software WebGL for the 3-D view (our own page).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-unsafe-swiftshader", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
                  "--virtual-time-budget=20000"]
#: Put first in <head>: records every JavaScript error, failed resource load and console.error into
#: data-js-errors on <html>, and after load how many plotly plots and SVGs the page holds.
HOOK = """<script>(function () {
  var errors = [], root = document.documentElement;
  function record(message) { errors.push(String(message)); root.setAttribute("data-js-errors", JSON.stringify(errors)); }
  root.setAttribute("data-js-errors", "[]");
  window.addEventListener("error", function (e) {
    record(e.message || ("failed to load " + ((e.target && (e.target.src || e.target.href)) || "a resource")));
  }, true);
  window.addEventListener("unhandledrejection", function (e) { record("unhandled rejection: " + e.reason); });
  var consoleError = console.error;
  console.error = function () { record("console.error: " + Array.prototype.join.call(arguments, " "));
                                consoleError.apply(console, arguments); };
  window.addEventListener("load", function () { setTimeout(function () {
    root.setAttribute("data-plots", document.querySelectorAll(".js-plotly-plot").length);
    root.setAttribute("data-svgs", document.querySelectorAll("svg.main-svg").length);
    root.setAttribute("data-height", document.documentElement.scrollHeight);
    root.setAttribute("data-width", document.documentElement.scrollWidth);
    root.setAttribute("data-view", window.innerWidth);
  }, 500); });
})();</script>"""


def chromium_binary() -> str | None:
    found = os.environ.get("HPSEARCH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def artifacts_dir() -> Path:
    path = Path(os.environ.get("HPSEARCH_ARTIFACTS") or ROOT / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_chromium(binary: str, *args: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="hpsearch-chromium-")
    try:
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=90, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def root_attr(dom: str, name: str) -> str:
    match = re.search(rf'<html\b[^>]*\b{name}="([^"]*)"', dom)
    assert match, f"<html> has no {name}: the page's scripts did not run to the end"
    import html

    return html.unescape(match.group(1))


def test_the_report_renders_in_chromium_without_a_javascript_error(tmp_path: Path) -> None:
    binary = chromium_binary()
    need(binary is not None, "Chromium is not installed (./setup.sh installs it as root; else apt-get install chromium)")
    report = write_report(synthetic_study(), tmp_path)
    text = report.read_text(encoding="utf-8")
    expected = text.count("Plotly.newPlot")
    page = report.with_name("browser-check.html")
    page.write_text(text.replace("<head>", "<head>\n" + HOOK, 1), encoding="utf-8")

    done = run_chromium(binary, "--window-size=1400,1000", "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert json.loads(root_attr(dom, "data-js-errors")) == []
    assert int(root_attr(dom, "data-plots")) == expected == 6
    assert int(root_attr(dom, "data-svgs")) >= expected
    visible = re.sub(r"(?s)<script\b.*?</script>", "", dom)
    assert "WebGL is not supported" not in visible
    # wide tables scroll inside their box: the page itself never scrolls sideways
    assert int(root_attr(dom, "data-width")) <= int(root_attr(dom, "data-view"))
    done = run_chromium(binary, "--window-size=900,1000", "--dump-dom", page.as_uri())
    assert int(root_attr(done.stdout, "data-width")) <= int(root_attr(done.stdout, "data-view"))

    height = min(max(int(root_attr(dom, "data-height")), 800), 8000)
    shot = artifacts_dir() / "report.png"
    shot.unlink(missing_ok=True)
    done = run_chromium(binary, f"--window-size=1400,{height}", f"--screenshot={shot}", page.as_uri())
    assert done.returncode == 0 and shot.stat().st_size > 50_000, done.stderr[-2000:]


def test_the_hypervolume_plot_counts_trials_in_whole_numbers(tmp_path: Path) -> None:
    """Two fine-tuned trials (numbers 2 and 3, after the baselines): plotly's own ticks read 2, 2.2, 2.4, ..."""
    binary = chromium_binary()
    need(binary is not None, "Chromium is not installed (./setup.sh installs it as root; else apt-get install chromium)")
    report = write_report(synthetic_study(tuned=2, not_learned=frozenset()), tmp_path)
    done = run_chromium(binary, "--window-size=1400,1000", "--virtual-time-budget=5000", "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    section = done.stdout.split("<h3>hypervolume</h3>", 1)[1].split("<h2>", 1)[0]
    ticks = re.findall(r'<g class="xtick"><text[^>]*>([^<]*)</text>', section)
    assert ticks and all(t.strip().isdigit() for t in ticks), ticks
    assert {"2", "3"} <= {t.strip() for t in ticks}
