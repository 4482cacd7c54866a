"""The `hpsearch` command. Imports stay light until a command needs the training stack."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Sequence

from hpsearch import __version__
from hpsearch.data._config import FAIL_RULES
from hpsearch.errors import USAGE_EXIT_CODE, Problem, UserError
from hpsearch.study import DASHBOARD_HOST, DASHBOARD_PORT, DEFAULT_STORAGE

if TYPE_CHECKING:
    from rich.console import Console


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpsearch",
        description="Multi-objective hyperparameter and architecture search for fine-tuning "
        "language models (accuracy, fairness across subgroups, inference latency).",
    )
    parser.add_argument("--version", action="version", version=f"hpsearch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a search over a space file")
    run.add_argument("space", help="a space YAML, e.g. spaces/legal.yaml")
    _storage_argument(run)
    run.add_argument("--study", help="study name (default: the space's name)")
    run.add_argument("--trials", type=int, help="number of trials (default: the search preset's)")
    run.add_argument("--address", help="address of a running Ray cluster (default: start Ray here)")
    run.add_argument("--dry-run", action="store_true", help="print the resolved space and stop")
    run.add_argument("--new-study", action="store_true", help="where the study holds another search (its data "
                     "changed, say), run a new one: NAME-2, NAME-3, ... (the first that is new or holds this one)")

    init = sub.add_parser(
        "init", help="write a starting space from a dataset: its labels, text lengths and groups",
        description="Write a space, and the search preset and objectives file it names beside it, from the\n"
        "data: label balance sets class weighting, token counts set max_length and long_text, text\n"
        "columns with few values are the groups, the hardware sets epochs. Every value carries a\n"
        "comment saying why; nothing is written until all of it checks out.",
        epilog="examples:\n  hpsearch init data/tickets.jsonl\n  hpsearch init data/tickets/ --text body "
        "--label kind --group region --out spaces/tickets.yaml --force",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    init.add_argument("data", metavar="DATA", help="a JSONL or CSV file (split by seed), or a folder holding "
                      "train.jsonl|csv and optionally validation.* and test.*")
    init.add_argument("--text", metavar="COL", help="text column (default: 'text', else the longest text column)")
    init.add_argument("--label", metavar="COL", help="label column (default: 'label')")
    init.add_argument("--group", metavar="COL", nargs="+", action="extend", help="group column(s) for fairness "
                      "(default: text columns with 2..20 values, two or more on >= 5%% of rows each)")
    init.add_argument("--out", metavar="SPACE.yaml", help="where to write the space (default: "
                      "spaces/<dataset name>.yaml); <stem>.search.yaml and <stem>.objectives.yaml go beside it")
    init.add_argument("--model", default="minilm", help="packaged name, local folder or hub id; its tokenizer "
                      "counts the tokens (default: minilm)")
    init.add_argument("--method", choices=("lora", "full", "head"), default="lora",
                      help="what is trained; sets the learning-rate range (default: lora)")
    init.add_argument("--max-train-examples", type=int, metavar="N", help="training rows per trial (default: "
                      "all on a GPU; at most 2000 on a CPU)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")

    data = sub.add_parser("data", help="look at a dataset before searching on it: `hpsearch data check`")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    check = data_sub.add_parser(
        "check", help="sizes, label and group balance, duplicates, leakage, conflicting labels, personal data, "
        "annotator agreement",
        description="Check the dataset a space names (or a data file or folder) before a GPU hour is spent on\n"
        "it: sizes per split; label and group distributions, warning for classes and groups too small to\n"
        "measure; exact and near duplicates within and across splits, and train/test leakage; identical\n"
        "or near-identical texts with conflicting labels; personal data (types and rows, never the data);\n"
        "annotator agreement. Exit 1 when a --fail-on rule is crossed (a CI gate), 0 otherwise.",
        epilog="rules (--fail-on, comma-separated; NAME>N fails above N, 0 by default):\n  "
        + "\n  ".join(f"{name}: {what}" for name, what in FAIL_RULES.items())
        + "\n\nexamples:\n  hpsearch data check spaces/legal.yaml\n"
        "  hpsearch data check data/tickets.jsonl --group team --out check/ --fail-on leakage,pii",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("target", metavar="SPACE_OR_DATASET", help="a space YAML, or a JSONL/CSV/Parquet file, a "
                       "save_to_disk folder, or a folder of train.* (validation.*, test.*)")
    check.add_argument("--out", metavar="DIR", help="also write DATASET_CARD.md and data_check.json here")
    check.add_argument("--fail-on", metavar="RULES", help="rules that exit 1, e.g. 'leakage,pii,duplicates>10' "
                       "(default: the space's dataset.check.fail_on)")
    check.add_argument("--text", metavar="COL", help="a data file's text column (default: text)")
    check.add_argument("--label", metavar="COL", help="a data file's label column (default: label)")
    check.add_argument("--group", metavar="COL", nargs="+", action="extend",
                       help="a data file's group column(s) (default: 'group' where there is one)")
    check.add_argument("--annotator", metavar="COL", help="a data file's annotator column")
    check.add_argument("--split-column", metavar="COL", help="a data file's column naming each row's split")

    status = sub.add_parser("status", help="where a study stands: complete, running, failed, and who runs what")
    _storage_argument(status)
    status.add_argument("--study", required=True, help="study name")

    export = sub.add_parser(
        "export", help="pick a trial by a policy and write its bundle for a training team",
        description="Pick one complete, feasible, fine-tuned trial by a policy (validation metrics only) and\n"
        "write its bundle: config.yaml, lora_config.json, training_arguments.json, the trained adapter,\n"
        "MODEL_CARD.md and the test split's scores (measured once, after selection).",
        epilog="policies:\n  max macro_f1 where latency_p95_ms <= 20 and f1_gap <= 0.05\n"
        "  min latency_p50_ms where macro_f1 >= 0.8 tie max macro_f1",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _storage_argument(export)
    export.add_argument("--study", required=True, help="study name")
    export.add_argument("--policy", required=True, help="how to pick, e.g. 'max macro_f1 where latency_p95_ms <= 20'")
    export.add_argument("--out", required=True, metavar="DIR", help="where to write the bundle (new or empty)")
    export.add_argument("--force", action="store_true", help="replace DIR if it holds something")

    confirm = sub.add_parser("confirm", help="re-run the best trials with more seeds: mean and spread per objective")
    _storage_argument(confirm)
    confirm.add_argument("--study", required=True, help="study name")
    confirm.add_argument("--top", type=int, default=3, help="how many trials, best first by the policy (default 3)")
    confirm.add_argument("--seeds", type=int, default=2, help="further seeds per trial (default 2)")
    confirm.add_argument("--policy", help="how to rank (default: the study's first objective, e.g. 'max macro_f1')")
    confirm.add_argument("--address", help="address of a running Ray cluster (default: start Ray here)")

    train = sub.add_parser("train", help="retrain an exported bundle: adapter, merged model, metrics, model card")
    train.add_argument("bundle", metavar="BUNDLE", help="a directory `hpsearch export` wrote")
    train.add_argument("--data", metavar="SPACE_OR_FILE", help="other data: a space file (its dataset section) or "
                       "a JSONL/CSV/Parquet file or save_to_disk folder with the same columns (default: the bundle's)")
    train.add_argument("--out", required=True, metavar="DIR", help="where to write (new or empty)")
    train.add_argument("--force", action="store_true", help="replace DIR if it holds something")

    validate = sub.add_parser("validate", help="check spaces, search presets and objectives files")
    validate.add_argument("files", nargs="+", metavar="FILE")

    pareto = sub.add_parser("pareto", help="print the Pareto front of a study (a table, or JSON/CSV for scripts)")
    _storage_argument(pareto)
    pareto.add_argument("--study", required=True, help="study name")
    pareto.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help="table for people (default); json or csv on stdout for scripts")
    pareto.add_argument("--sort", metavar="OBJECTIVE",
                        help="json/csv: order the front by this objective, best first (default: trial number)")

    report = sub.add_parser("report", help="write an HTML report of a study")
    _storage_argument(report)
    report.add_argument("--study", required=True, help="study name")
    report.add_argument("--out", required=True, metavar="DIR", help="directory to write the report into")

    dashboard = sub.add_parser("dashboard", help="serve optuna-dashboard on the study database")
    _storage_argument(dashboard)
    dashboard.add_argument("--host", default=DASHBOARD_HOST,
                           help=f"address to listen on (default: {DASHBOARD_HOST}, this machine only)")
    dashboard.add_argument("--port", type=int, default=DASHBOARD_PORT,
                           help=f"port to listen on, 0 for any free one (default: {DASHBOARD_PORT})")
    return parser


def _storage_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", default=os.environ.get("HPSEARCH_STORAGE", DEFAULT_STORAGE),
                        help="SQLAlchemy URL of the study database (default: $HPSEARCH_STORAGE or "
                        f"{DEFAULT_STORAGE})")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from rich.console import Console

    # Logs and CI capture output without a terminal: give tables room rather than 80 columns.
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "140"))
    console = Console(stderr=False, highlight=False, width=width)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")

    try:
        if args.command == "init":
            return _init(args, console)
        if args.command == "validate":
            return _validate(args, console)
        if args.command == "data":
            return _data_check(args, console)
        if args.command == "run":
            return _run(args, console)
        if args.command == "export":
            return _export(args, console)
        if args.command == "confirm":
            return _confirm(args, console)
        if args.command == "train":
            return _train(args, console)
        if args.command == "status":
            return _status(args, console)
        if args.command == "pareto":
            return _pareto(args, console)
        if args.command == "report":
            return _report(args, console)
        if args.command == "dashboard":
            return _dashboard(args, console)
    except UserError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return USAGE_EXIT_CODE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from hpsearch.study._faults import DatabaseUnavailable
        from hpsearch.study._ledger import StudyFailing
        from hpsearch.study._searcher import WorkersFailing

        if not isinstance(exc, (DatabaseUnavailable, StudyFailing, WorkersFailing)):
            raise
        from hpsearch.study import scrub

        url = getattr(args, "storage", None)
        message = scrub(str(exc), url) if url else str(exc)
        if isinstance(exc, StudyFailing):  # the count is the study's: a new run of it stops at once
            message += ("; the count is the study's, over every run and driver: to go on, raise max_failed_trials "
                        "in the search preset or run a new study (--study NAME)")
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


def _init(args: argparse.Namespace, console: "Console") -> int:
    from hpsearch.plan import init_space

    written = init_space(args.data, out=args.out, text=args.text, label=args.label, groups=args.group,
                         model=args.model, method=args.method, max_train_examples=args.max_train_examples,
                         force=args.force)
    for line in written.summary:
        console.print(line, markup=False, soft_wrap=True)
    return 0


def _validate(args: argparse.Namespace, console: "Console") -> int:
    from hpsearch.plan import validate_files

    problems = validate_files(args.files)
    if problems:
        raise UserError(problems)
    console.print(f"{len(args.files)} file(s) valid")
    return 0


def _data_check(args: argparse.Namespace, console: "Console") -> int:
    from hpsearch.data import report_lines
    from hpsearch.plan import data_check

    report = data_check(args.target, out=args.out, fail_on=args.fail_on, text=args.text, label=args.label,
                        groups=args.group, annotator=args.annotator, split_column=args.split_column)
    for line in report_lines(report):
        console.print(line, markup=False, soft_wrap=True)
    if args.out:
        console.print(f"wrote {args.out}/DATASET_CARD.md and {args.out}/data_check.json", markup=False,
                      soft_wrap=True)
    return report.exit_code


def _run(args: argparse.Namespace, console: "Console") -> int:
    from hpsearch.plan import load_plan

    plan = load_plan(args.space)
    if args.trials is not None and args.trials < 1:
        raise UserError(Problem("--trials", "", f"must be >= 1, got {args.trials}"))
    if args.dry_run:
        from hpsearch.report import print_plan

        print_plan(plan, console)
        return 0
    import optuna

    from hpsearch.report import print_summary
    from hpsearch.study import RunOptions, run

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    options = RunOptions(
        storage=args.storage,
        study_name=args.study or plan.space.name,
        trials=args.trials or plan.search.trials,
        address=args.address,
        new_study=args.new_study,
    )
    optuna_study = run(plan, options, console)
    print_summary(optuna_study, console)
    return 0


def _export(args: argparse.Namespace, console: "Console") -> int:
    from pathlib import Path

    from hpsearch.export import NothingQualifies, export_bundle
    from hpsearch.study import open_study

    study = open_study(args.storage, args.study)
    try:
        out = export_bundle(study, args.storage, args.policy, Path(args.out), force=args.force)
    except NothingQualifies as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 1
    picked = sorted(p.name for p in out.iterdir())
    console.print(f"{out}: {', '.join(picked)}", soft_wrap=True)
    return 0


def _confirm(args: argparse.Namespace, console: "Console") -> int:
    import optuna

    from hpsearch.export import NothingQualifies, confirm
    from hpsearch.study import objective_names, open_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(args.storage, args.study)
    first = objective_names(study)[0]
    policy = args.policy or f"{'max' if study.directions[0].name == 'MAXIMIZE' else 'min'} {first}"
    try:
        confirmed = confirm(args.storage, study, policy, args.top, args.seeds, console, args.address)
    except NothingQualifies as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 1
    from hpsearch.study import confirmed_lines

    for line in confirmed_lines(study, confirmed):
        console.print(line, soft_wrap=True, markup=False)
    return 0


def _train(args: argparse.Namespace, console: "Console") -> int:
    from pathlib import Path

    from hpsearch.export import retrain

    metrics = retrain(Path(args.bundle), Path(args.out), args.data, force=args.force,
                      say=lambda line: console.print(line, markup=False, soft_wrap=True))
    shown = ", ".join(f"{k} {metrics['validation'][k]:.4g}" for k in ("macro_f1", "f1_gap", "latency_p50_ms")
                      if k in metrics["validation"])
    diff = metrics.get("macro_f1_difference")
    test = ", ".join(f"{k} {metrics['test'][k]:.4g}" for k in ("macro_f1", "f1_gap") if k in metrics["test"])
    console.print(f"{args.out}: validation {shown}"
                  + (f" (macro-F1 {diff:+.4f} against the exported trial)" if diff is not None else "")
                  + (f"; test {test}" if test else ""), soft_wrap=True)
    return 0


def _status(args: argparse.Namespace, console: "Console") -> int:
    from hpsearch.study import open_storage, open_study
    from hpsearch.study._status import print_status

    study = open_study(args.storage, args.study)
    print_status(study, open_storage(args.storage, existing=True), console)
    return 0


def _pareto(args: argparse.Namespace, console: "Console") -> int:
    from hpsearch.study import open_study

    study = open_study(args.storage, args.study)
    if args.format == "table":
        from hpsearch.report import print_summary
        from hpsearch.report._export import check_sort

        check_sort(study, args.sort)
        print_summary(study, console, args.sort)
        return 0
    from hpsearch.report._export import front_csv, front_json

    text = front_json(study, args.sort) if args.format == "json" else front_csv(study, args.sort)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _report(args: argparse.Namespace, console: "Console") -> int:
    from pathlib import Path

    from hpsearch.study import open_study

    study = open_study(args.storage, args.study)
    from hpsearch.report._html import write_report

    try:
        written = write_report(study, Path(args.out))
    except OSError as exc:
        raise UserError(Problem("--out", "", f"cannot write the report to {args.out}: "
                                f"{exc.strerror or exc}")) from None
    console.print(str(written), soft_wrap=True)
    return 0


def _dashboard(args: argparse.Namespace, console: "Console") -> int:
    from hpsearch.study import mask_url, open_dashboard, open_storage

    dashboard = open_dashboard(open_storage(args.storage, existing=True), args.host, args.port)
    console.print(f"optuna-dashboard on {dashboard.url}", soft_wrap=True)
    console.print(f"study database: {mask_url(args.storage)}", soft_wrap=True)
    console.print("Ctrl-C to stop", soft_wrap=True)
    console.file.flush()
    dashboard.serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
