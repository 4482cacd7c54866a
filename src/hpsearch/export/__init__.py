"""The hand-off from a study to a training team: a policy that picks one trial (parsed, never
evaluated), the bundle written from it, and retraining a bundle (``hpsearch train``)."""

from __future__ import annotations

from hpsearch.export._bundle import NothingQualifies, choose, export_bundle
from hpsearch.export._confirm import CONFIRMED_ATTR, confirm, record_confirmed
from hpsearch.export._pick import Pick, explain_no_pick, metric_value, pick
from hpsearch.export._policy import Condition, Policy, check_metrics, parse_policy
from hpsearch.export._train import read_bundle, retrain

__all__ = ["CONFIRMED_ATTR", "Condition", "NothingQualifies", "Pick", "choose", "confirm", "export_bundle", "Policy", "check_metrics", "explain_no_pick", "metric_value", "parse_policy", "pick", "read_bundle", "record_confirmed", "retrain"]
