"""Two baselines a fine-tuned trial has to beat, measured exactly as a trial is (no Ray).

* ``linear_probe``: the frozen base model's last hidden states, mean-pooled over the attention
  mask, as features for a scikit-learn logistic regression: what the base model knows without
  any fine-tuning;
* ``tfidf``: TF-IDF word 1-2-grams and char_wb 2-5-grams (sublinear tf) with a logistic
  regression: what a model without a transformer gets.

The regression's C is chosen on the validation split by macro-F1 over :data:`C_GRID`, as a
trial's hyperparameters are. Then :meth:`Worker.assess` measures the baseline as it measures a
trial: the same metrics on validation (and test), per-group gaps, trivial predictors, team
objectives, latency per request (tokenisation or vectorisation included) and throughput.
"""

from __future__ import annotations

import pickle
import time
from typing import Any, Callable, Sequence

from hpsearch.data import Split
from hpsearch.trial._memory import PeakMemory, model_size_mb
from hpsearch.trial._worker import TrialResult, Worker

BASELINE_KINDS = ("linear_probe", "tfidf")
#: The logistic regression's inverse regularisation strengths tried; the best on validation wins.
C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
MAX_ITER = 5000
#: TF-IDF keeps the n-grams of at least this many training texts: a third of the features on real
#: issue reports, as good on validation, and the regression fits several times faster.
MIN_DF = 2
_BATCH = 64


def run_baseline(worker: Worker, kind: str) -> TrialResult:
    """Fit the baseline `kind` (one of :data:`BASELINE_KINDS`) on the worker's data and measure it
    as a trial is measured; its metrics have the same keys as a trial's."""
    if kind not in BASELINE_KINDS:
        raise ValueError(f"a baseline is one of {', '.join(BASELINE_KINDS)}, got {kind!r}")
    started = time.perf_counter()
    with PeakMemory(worker.device) as memory:
        baseline: _Baseline = _LinearProbe(worker) if kind == "linear_probe" else _Tfidf(worker)
        splits = worker.splits
        train, validation = baseline.features("train", splits.train), baseline.features("validation", splits.validation)
        classifier, c, scores, converged = _choose_c(baseline.classifier, train, splits.train.labels, validation,
                                                     splits.validation.labels)
        baseline.fitted(classifier)
        train_seconds = time.perf_counter() - started
        n_labels = len(splits.label_names)
        result = worker.assess(
            lambda name, split: _predictions(classifier, baseline.features(name, split), n_labels),
            baseline.predict_one, baseline.predict_batch, tokens=baseline.tokens(),
        )
    model = _final_step(classifier)
    result.metrics.update({
        "train_seconds": train_seconds,
        "evaluate_seconds": time.perf_counter() - started - train_seconds,
        "trainable_params": float(model.coef_.size + model.intercept_.size),
        "peak_memory_mb": memory.peak_mb,
        "model_size_mb": baseline.size_mb(),
        "layers": float(baseline.layers),
    })
    result.attrs.update({
        "baseline": kind, "baseline_method": baseline.method, "C": c, "C_grid": list(C_GRID),
        "C_validation_macro_f1": scores, "converged": converged, "features": int(train.shape[1]),
        "peak_memory": memory.basis, "history": [],
    })
    return result


def _choose_c(
    make: Callable[[float], Any], x_train: Any, y_train: Sequence[int], x_validation: Any, y_validation: Sequence[int]
) -> tuple[Any, float, dict[str, float], bool]:
    """(classifier, C, validation macro-F1 by C, converged): the best C of :data:`C_GRID`; on a
    tie the smaller (stronger regularisation)."""
    from sklearn.metrics import f1_score

    scores: dict[str, float] = {}
    best: tuple[float, Any, float] = (-1.0, None, C_GRID[0])
    for c in C_GRID:
        classifier = make(c).fit(x_train, y_train)
        score = float(f1_score(y_validation, classifier.predict(x_validation), average="macro", zero_division=0))
        scores[str(c)] = score
        if score > best[0]:
            best = (score, classifier, c)
    model = _final_step(best[1])
    return best[1], best[2], scores, bool((model.n_iter_ < MAX_ITER).all())


def _final_step(classifier: Any) -> Any:
    """The logistic regression itself, also at the end of a pipeline."""
    return classifier.steps[-1][1] if hasattr(classifier, "steps") else classifier


def _predictions(classifier: Any, features: Any, n_labels: int) -> tuple[list[int], list[list[float]]]:
    """Labels and probabilities over every label (a label absent from training gets 0)."""
    import numpy as np

    proba = np.zeros((features.shape[0], n_labels))
    proba[:, classifier.classes_] = classifier.predict_proba(features)
    return proba.argmax(1).tolist(), proba.tolist()


def _logistic_regression(c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=MAX_ITER)


class _Baseline:
    """What a baseline provides: features per split (computed once), a classifier factory, and,
    once fitted, a request-serving path, its size and a one-line description."""

    method = ""
    layers = 0

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._features: dict[str, Any] = {}
        self._classifier: Any = None

    def features(self, name: str, split: Split) -> Any:
        if name not in self._features:
            self._features[name] = self.featurize(split.texts)
        return self._features[name]

    def featurize(self, texts: list[str]) -> Any:
        raise NotImplementedError

    def classifier(self, c: float) -> Any:
        return _logistic_regression(c)

    def fitted(self, classifier: Any) -> None:
        self._classifier = classifier

    def predict_one(self, text: str) -> Any:
        return self.predict_batch([text])

    def predict_batch(self, texts: Sequence[str]) -> Any:
        raise NotImplementedError

    def tokens(self) -> list[int] | None:
        return None

    def size_mb(self) -> float:
        raise NotImplementedError


class _LinearProbe(_Baseline):
    """Frozen encoder, mean-pooled last hidden states, standardised, logistic regression."""

    def __init__(self, worker: Worker) -> None:
        import copy

        from hpsearch.space import KNOBS

        super().__init__(worker)
        fixed = worker.plan.space.fixed.get("max_length")
        self.max_length = int(fixed) if fixed is not None else int(KNOBS["max_length"].default)
        encoder = worker.base_model.base_model
        if worker.device.type != "cpu":  # the worker's base model stays where it was loaded
            encoder = copy.deepcopy(encoder).to(worker.device)
        self.encoder = encoder.eval()
        self.layers = int(worker.base_model.config.num_hidden_layers)
        self.method = (f"linear probe: frozen {worker.base_model.config.model_type} encoder, last hidden states "
                       f"mean-pooled over the attention mask (max_length {self.max_length}), standardised, "
                       "logistic regression with C chosen on validation macro-F1")
        self._embed = worker.request_calls(self._pooled, self.max_length)[1]
        self._serve: Callable[[Sequence[str]], Any] = self._embed  # until fitted: features, not labels

    def _pooled(self, batch: dict[str, Any]) -> Any:
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().cpu().numpy()

    def featurize(self, texts: list[str]) -> Any:
        import numpy as np

        return np.concatenate([self._embed(texts[i:i + _BATCH]) for i in range(0, len(texts), _BATCH)])

    def classifier(self, c: float) -> Any:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), _logistic_regression(c))

    def fitted(self, classifier: Any) -> None:
        super().fitted(classifier)
        self._serve = self.worker.request_calls(lambda batch: classifier.predict(self._pooled(batch)),
                                                self.max_length)[1]

    def predict_batch(self, texts: Sequence[str]) -> Any:
        return self._serve(list(texts))

    def tokens(self) -> list[int] | None:
        splits = self.worker.splits
        return [len(ids) for ids in self.worker.encoded("validation", splits.validation, self.max_length)]

    def size_mb(self) -> float:
        return model_size_mb(self.encoder) + len(pickle.dumps(self._classifier)) / 2**20


class _Tfidf(_Baseline):
    """TF-IDF word 1-2-grams and char_wb 2-5-grams, fitted on the training texts; logistic regression."""

    method = (f"tfidf: TF-IDF word 1-2-grams + char_wb 2-5-grams (sublinear tf, in >= {MIN_DF} training texts), "
              "logistic regression with C chosen on validation macro-F1")

    def __init__(self, worker: Worker) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        super().__init__(worker)
        self.vectorizer = FeatureUnion([
            ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=MIN_DF)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=MIN_DF)),
        ])
        self.vectorizer.fit(worker.splits.train.texts)
        self.pipeline: Any = None

    def featurize(self, texts: list[str]) -> Any:
        return self.vectorizer.transform(texts)

    def fitted(self, classifier: Any) -> None:
        from sklearn.pipeline import Pipeline

        super().fitted(classifier)
        self.pipeline = Pipeline([("features", self.vectorizer), ("classifier", classifier)])

    def predict_batch(self, texts: Sequence[str]) -> Any:
        return self.pipeline.predict(list(texts))

    def size_mb(self) -> float:
        return len(pickle.dumps(self.pipeline)) / 2**20
