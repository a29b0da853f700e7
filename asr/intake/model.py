"""A logistic regression over feature strings: the only module that imports scikit-learn.

Trained when the rules load, from the corpus in the repository (no pickled model to trust or
to drift from its data): ``lbfgs`` on the same data in the same order gives the same weights.
Features are strings made by ``asr.intake.features`` (character n-grams, jieba words, cue
classes, markers), weighted by sublinear TF-IDF.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.feature_extraction.text import (  # type: ignore[import-untyped]
    TfidfVectorizer,
)
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

BLAS_THREADS = 1
"""One BLAS thread: these fits are small, and on a busy machine threads that wait for each
other made a 0.3 s fit take 8 s (measured on the 2-core build machine)."""


def _identity(features: Sequence[str]) -> Sequence[str]:
    return features


@dataclass(frozen=True)
class Prediction:
    log_probs: dict[str, float]
    """Log-probability of every label."""


class TextModel:
    """Labels from feature strings; with a single label in the data, always that label."""

    def __init__(
        self,
        docs: Sequence[Sequence[str]],
        labels: Sequence[str],
        c: float,
        *,
        min_df: int = 1,
    ) -> None:
        """``min_df``: a feature seen in fewer training sentences is dropped (2 halves the
        features and the training time of the line model; one-off n-grams carry no rule)."""
        if len(docs) != len(labels) or not docs:
            raise ValueError("a model needs as many labels as documents, and some of both")
        self._vectorizer = TfidfVectorizer(
            analyzer=_identity, sublinear_tf=True, lowercase=False, norm="l2", min_df=min_df
        )
        matrix = self._vectorizer.fit_transform(docs)
        self.labels: tuple[str, ...] = tuple(sorted(set(labels)))
        self._names = [str(n) for n in self._vectorizer.get_feature_names_out()]
        self._regression: LogisticRegression | None = None
        if len(self.labels) > 1:
            self._regression = LogisticRegression(C=c, max_iter=5000)
            with threadpool_limits(limits=BLAS_THREADS):
                self._regression.fit(matrix, list(labels))
            self.labels = tuple(str(label) for label in self._regression.classes_)

    def probabilities(self, features: Sequence[str]) -> dict[str, float]:
        """The probability of every label."""
        return {label: math.exp(p) for label, p in self.predict(features).log_probs.items()}

    def predict(self, features: Sequence[str]) -> Prediction:
        if self._regression is None:
            return Prediction({self.labels[0]: 0.0})
        matrix = self._vectorizer.transform([features])
        with threadpool_limits(limits=BLAS_THREADS):
            probs = self._regression.predict_proba(matrix)[0]
        return Prediction(
            {
                label: math.log(max(float(p), 1e-12))
                for label, p in zip(self.labels, probs, strict=True)
            }
        )

    def top_features(self, features: Sequence[str], label: str, n: int) -> list[tuple[str, float]]:
        """The ``n`` features that pushed hardest towards ``label`` (weight × TF-IDF value)."""
        if self._regression is None:
            return []
        row = self._vectorizer.transform([features]).tocoo()
        coef = self._regression.coef_
        index = self.labels.index(label)
        if coef.shape[0] == 1:  # two labels: one row of weights, for the second label
            sign = 1.0 if index == 1 else -1.0
            weights = coef[0] * sign
        else:
            weights = coef[index]
        found = [
            (self._names[j], float(value * weights[j]))
            for j, value in zip(row.col, row.data, strict=True)
        ]
        found = [f for f in found if f[1] > 0]
        return sorted(found, key=lambda f: (-f[1], f[0]))[:n]
