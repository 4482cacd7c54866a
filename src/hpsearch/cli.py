"""The `hpsearch` command. Imports stay light until a command needs the training stack."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Sequence

from hpsearch import __version__
from hpsearch.errors import USAGE_EXIT_CODE, UserError
from hpsearch.study import DEFAULT_STORAGE

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
    run.add_argument("--storage", default=os.environ.get("HPSEARCH_STORAGE", DEFAULT_STORAGE),
                     help="SQLAlchemy URL of the study database (default: $HPSEARCH_STORAGE or "
                     f"{DEFAULT_STORAGE})")
    run.add_argument("--study", help="study name (default: the space's name)")
    run.add_argument("--trials", type=int, help="number of trials (default: the search preset's)")
    run.add_argument("--address", help="address of a running Ray cluster (default: start Ray here)")
    run.add_argument("--dry-run", action="store_true", help="print the resolved space and stop")

    validate = sub.add_parser("validate", help="check spaces, search presets and objectives files")
    validate.add_argument("files", nargs="+", metavar="FILE")

    pareto = sub.add_parser("pareto", help="print the Pareto front of a study")
    pareto.add_argument("--storage", default=os.environ.get("HPSEARCH_STORAGE", DEFAULT_STORAGE))
    pareto.add_argument("--study", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from rich.console import Console

    # Logs and CI capture output without a terminal: give tables room rather than 80 columns.
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "140"))
    console = Console(stderr=False, highlight=False, width=width)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")

    try:
        if args.command == "validate":
            return _validate(args, console)
        if args.command == "run":
            return _run(args, console)
        if args.command == "pareto":
            return _pareto(args, console)
    except UserError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return USAGE_EXIT_CODE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def _validate(args: argparse.Namespace, console: "Console") -> int:
    from hpsearch.plan import validate_files

    problems = validate_files(args.files)
    if problems:
        raise UserError(problems)
    console.print(f"{len(args.files)} file(s) valid")
    return 0


def _run(args: argparse.Namespace, console: "Console") -> int:
    from hpsearch.errors import Problem
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
    )
    optuna_study = run(plan, options, console)
    print_summary(optuna_study, console)
    return 0


def _pareto(args: argparse.Namespace, console: "Console") -> int:
    import optuna

    from hpsearch.errors import Problem
    from hpsearch.report import print_summary
    from hpsearch.study import open_storage

    storage = open_storage(args.storage)
    try:
        study = optuna.load_study(study_name=args.study, storage=storage)
    except KeyError:
        raise UserError(Problem("--study", "", f"no study named {args.study!r} in the database")) from None
    print_summary(study, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
