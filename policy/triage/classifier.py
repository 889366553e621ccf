"""The third detector: a linear classifier over character n-grams, trained when first needed from the
tuning part of the labelled corpus (`policy.triage.corpus`; the held-out part is never trained on,
so the bench's figures on it stay honest).

Character n-grams (scikit-learn's TfidfVectorizer, `char_wb`, 2 to 5 characters) read through typos
and texting ("siezure", "cant breth", "wont wake up") that word patterns miss; a linear SVM
(LinearSVC) is fast to train (about a tenth of a second on the corpus) and to apply. The fitted
weights are applied with one sparse product, which costs a few microseconds against the
vectorizer's fraction of a millisecond.

It reads only what the other detectors did not set aside (negated, past, another context, a figure
of speech): it is an independent opinion on what is current, never the only one that escalates.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

from policy.triage.corpus import load

# Margin of the best emergency category over "none" from which the classifier speaks up. Chosen by
# cross-validation on the tuning part (bench/understanding.py prints the held-out figures).
THRESHOLD = -0.25
_TRAINING = threading.Lock()


@dataclass(frozen=True)
class Model:
    vectorizer: Any  # sklearn.feature_extraction.text.TfidfVectorizer
    weights: Any  # numpy array: features x classes
    intercept: Any
    classes: tuple[str, ...]


@cache
def model() -> Model:
    """Trained once per process (about 0.1 s after importing scikit-learn, about 1 s, on first use);
    a caller arriving while another trains waits for that training rather than doing its own."""
    with _TRAINING:
        return _trained()


@cache
def _trained() -> Model:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    from policy.triage.normalizing import normalize

    rows = load("tune")
    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, dtype=np.float32
    )
    features = vectorizer.fit_transform([normalize(row.text) for row in rows])
    labels = [row.label if row.band == "emergency" else "none" for row in rows]
    fitted = LinearSVC(C=1.0).fit(features, labels)
    return Model(vectorizer, fitted.coef_.T.copy(), fitted.intercept_, tuple(fitted.classes_))


def opinion(text: str) -> tuple[str, float] | None:
    """The emergency category the classifier reads in a normalised text, with its margin, or None."""
    trained = model()
    scores = (trained.vectorizer.transform([text]) @ trained.weights)[0] + trained.intercept
    ranked = sorted(zip(scores, trained.classes, strict=True), reverse=True)
    none_score = next(score for score, label in ranked if label == "none")
    best_score, best = next((score, label) for score, label in ranked if label != "none")
    margin = float(best_score - none_score)
    return (best, margin) if margin >= THRESHOLD else None
