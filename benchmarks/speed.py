"""Issue #13 in one command: the orchestration overhead (benchmarks/overhead.py) and the peer ratio
against Trainer.hyperparameter_search (benchmarks/peer_trainer.py), measured now, printed against
their targets and written to docs/benchmarks.md.

    .venv/bin/python benchmarks/speed.py            # overhead --trials 60, then peer_trainer --quick
    .venv/bin/python benchmarks/speed.py --full     # ... then the issue's configuration (600/300, 3 epochs, 3 trials)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import overhead  # noqa: E402
import peer_trainer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the issue's configuration instead of --quick")
    parser.add_argument("--note", default="benchmarks/speed.py")
    args = parser.parse_args(argv)
    overhead.main(["--trials", "60"])
    peer_args = (["--train", "600", "--eval", "300", "--epochs", "3", "--trials", "3"] if args.full else ["--quick"])
    peer_trainer.main([*peer_args, "--note", args.note])
    rows = json.loads(overhead.RESULTS.read_text(encoding="utf-8"))["rows"]
    run = json.loads(peer_trainer.RESULTS.read_text(encoding="utf-8"))["runs"][-1]
    print("\nOrchestration overhead per no-op trial (target: median <= 50 ms on the local defaults, "
          "<= 5% of a 10-s trial):")
    for r in rows:
        print(f"  {r['path']:<36} {r['storage']:<11} median {r['median_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
              f"({r['median_ms'] / 100:.2f}% of 10 s)")
    print("Wall time per trial, hpsearch / Trainer.hyperparameter_search (target <= 0.6):")
    for name, pair in run["datasets"].items():
        print(f"  {name:<20} {pair['ratio']:.2f}  (best macro-F1 {pair['hpsearch']['best_macro_f1']} vs "
              f"{pair['peer']['best_macro_f1']}; hypervolume {pair['hpsearch']['hypervolume']} vs "
              f"{pair['peer']['hypervolume']})")
    print(f"  {'all':<20} {run['ratio_all']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
