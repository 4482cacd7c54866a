"""What people read: the plan before a run, the Pareto front and the baseline after it."""

from __future__ import annotations

from hpsearch.report._tables import BASELINE_NAMES, baseline_lines, pareto_table, print_plan, print_summary

__all__ = ["BASELINE_NAMES", "baseline_lines", "pareto_table", "print_plan", "print_summary"]
