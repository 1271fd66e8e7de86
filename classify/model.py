"""A trained category model (issue 5, item 3), combined with the lexicon.

Reviewer-confirmed categories are the training data: ``minqing retrain`` reads them from
the archive, calls :func:`train_category_model`, reports :func:`cross_validate_category`
(lexicon alone against lexicon + model) and saves the model with
:meth:`CategoryModel.save`; ``segment_book(..., model=)`` and
``classify_category(text, model=)`` then mix its probabilities with the lexicon's.

The model is scikit-learn's: character 1–2-gram TF-IDF (entries are unsegmented OCR text,
so characters, not jieba words, are the robust unit) into a multinomial logistic
regression, whose probabilities are used as they are. How much the model counts against
the lexicon rises with the number of training examples (:attr:`CategoryModel.weight`):
a model trained on a few dozen entries nudges the lexicon, one trained on hundreds leads.

Model files are pickles (joblib): load only files ``minqing retrain`` wrote. A file
written under another major :data:`~classify.CLASSIFIER_VERSION`, or by another
scikit-learn minor version, is refused with :class:`~classify.errors.CategoryModelError`
(retrain instead).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from minqing.classify._version import CLASSIFIER_VERSION, version_major
from minqing.classify.dates import normalise
from minqing.classify.errors import CategoryModelError, ClassifyDataError, NotEnoughTrainingData
from minqing.classify.types import CATEGORIES, STATUSES

#: the fewest confirmed categories, and distinct categories, a model is trained from
MIN_EXAMPLES = 10
MIN_CLASSES = 2
#: the model's weight against the lexicon is ``n / (n + WEIGHT_HALF)``, at most ``WEIGHT_MAX``
WEIGHT_HALF = 80.0
WEIGHT_MAX = 0.8
#: what a model file holds besides the estimator (a format check before anything else)
_FORMAT = "minqing-category-model"
_NOT_CJK = re.compile(r"[^\u4e00-\u9fff]+")
#: printed field labels of labelled records and forms say nothing about the category
_LABELS = re.compile(
    r"(?:走访)?(?:时间|地点|对象)|反映问题|原因分析|解决措施|办理结果|星期[一二三四五六日天]"
)


def model_text(text: str) -> str:
    """The text the model sees: Chinese characters only, labels and dates removed.

    Digits, punctuation and Latin letters (dates, OCR noise) become a single space, so
    character n-grams never span them.
    """
    t = _LABELS.sub(" ", normalise(text))
    return _NOT_CJK.sub(" ", t).strip()


def model_weight(n_examples: int) -> float:
    """The weight of a model trained on ``n_examples`` entries against the lexicon."""
    return min(WEIGHT_MAX, n_examples / (n_examples + WEIGHT_HALF)) if n_examples > 0 else 0.0


class CategoryModel:
    """A trained category classifier: TF-IDF character n-grams + logistic regression.

    Attributes:
        n_examples: how many entries it was trained on.
        classes: the category codes it has seen (others get probability 0).
        classifier_version: :data:`~classify.CLASSIFIER_VERSION` at training time.
        weight: its weight against the lexicon in :func:`~classify.classify_category`.
    """

    def __init__(self, pipeline, n_examples: int, classifier_version: str = CLASSIFIER_VERSION):
        self._pipeline = pipeline
        self.n_examples = int(n_examples)
        self.classifier_version = classifier_version
        self.classes: tuple[int, ...] = tuple(int(c) for c in pipeline.classes_)

    @property
    def weight(self) -> float:
        """The model's weight against the lexicon (rises with :attr:`n_examples`)."""
        return model_weight(self.n_examples)

    def predict_proba(self, text: str) -> dict[int, float]:
        """Probability per category code 1..8 (0 for codes never seen in training)."""
        return self.predict_proba_many([text])[0]

    def predict_proba_many(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """:meth:`predict_proba` of many texts at once (one transform, much faster)."""
        out = []
        for probs in self._pipeline.predict_proba([model_text(t) for t in texts]):
            row = {c: 0.0 for c in CATEGORIES}
            for c, p in zip(self.classes, probs, strict=True):
                row[c] = float(p)
            out.append(row)
        return out

    def evidence(self, text: str, code: int, limit: int = 3) -> tuple[str, ...]:
        """The n-grams of ``text`` that pull most towards ``code`` (longest first on ties).

        Only n-grams of two or more characters that occur in ``text`` and push towards
        ``code`` are named; overlapping n-grams name the stronger one only.
        """
        if code not in self.classes:
            return ()
        vec = self._pipeline.named_steps["tfidf"]
        clf = self._pipeline.named_steps["clf"]
        row = vec.transform([model_text(text)])
        coef = clf.coef_[self.classes.index(code)]
        names = vec.get_feature_names_out()
        scored = []
        for j, x in zip(row.indices, row.data, strict=True):
            gram = names[j]
            contrib = float(x * coef[j])
            if len(gram) >= 2 and " " not in gram and contrib > 0:
                scored.append((contrib, len(gram), gram))
        scored.sort(reverse=True)
        out: list[str] = []
        for _, _, gram in scored:
            if any(gram in g or g in gram for g in out):
                continue
            out.append(gram)
            if len(out) >= limit:
                break
        return tuple(out)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to ``path`` (atomically: a crash leaves the old file whole)."""
        import joblib
        import sklearn

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": _FORMAT,
            "classifier_version": self.classifier_version,
            "sklearn_version": sklearn.__version__,
            "n_examples": self.n_examples,
            "pipeline": self._pipeline,
        }
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            joblib.dump(payload, tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def __repr__(self) -> str:
        return (
            f"CategoryModel(n_examples={self.n_examples}, classes={self.classes}, "
            f"version={self.classifier_version!r})"
        )


def _pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            ),
            ("clf", LogisticRegression(C=30.0, max_iter=3000, class_weight="balanced")),
        ]
    )


def load_category_model(path: str | os.PathLike) -> CategoryModel:
    """Read a model :meth:`CategoryModel.save` wrote.

    Raises:
        CategoryModelError: the file is missing or unreadable, is not a category model,
            or was written under another major classifier version or another
            scikit-learn minor version (the message says to retrain).
    """
    payload = _load_checked(path, _FORMAT, "category")
    version = str(payload.get("classifier_version", ""))
    return CategoryModel(payload["pipeline"], payload.get("n_examples", 0), version)


def _scores(truth: Sequence[int], pred: Sequence[int]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(truth))
    return {
        "accuracy": round(float(accuracy_score(truth, pred)), 4),
        "macro_f1": round(
            float(f1_score(truth, pred, labels=labels, average="macro", zero_division=0)), 4
        ),
    }


def cross_validate_category(
    texts: Sequence[str],
    codes: Sequence[int],
    folds: int = 5,
    seed: int = 0,
    *,
    groups: Sequence[str] | None = None,
    pipeline=None,
    weight: float | None = None,
) -> dict:
    """k-fold cross-validation: the lexicon alone against lexicon + model (and model alone).

    Folds are stratified by category where every category has at least ``folds``
    examples, shuffled with ``seed`` otherwise. With ``groups`` (one label per entry, e.g.
    its writer) the folds are grouped instead: no group is both trained on and scored
    (``GroupKFold``; ``folds`` at least the number of groups is leave-one-group-out), the
    honest measure of how a model holds on notebooks by hands it has never seen. Each
    held-out entry is classified by :func:`~classify.classify_category` without and with a
    model trained on the other folds; ``pipeline`` (a factory of unfitted pipelines with
    the steps ``tfidf`` and ``clf``) tries another model recipe than the shipped one, and
    ``weight`` another weight of the model against the lexicon than :func:`model_weight`.

    Returns:
        ``{"n": N, "folds": k, "lexicon": {"accuracy", "macro_f1"}, "combined": {...},
        "model": {...}, "model_weight": w, "confusions": {"truth->predicted": count}}`` —
        macro-F1 over the categories present in ``codes``; ``model_weight`` is that of a
        model trained on all N entries; the confusions are those of lexicon + model.

    Raises:
        NotEnoughTrainingData: too few entries for ``folds`` folds of training data.
    """
    from collections import Counter

    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    from minqing.classify.category import classify_category, lexicon_distribution, mix

    if len(texts) != len(codes):
        raise CategoryModelError(
            "training data", f"{len(texts)} texts but {len(codes)} category codes"
        )
    codes = [int(c) for c in codes]
    n = len(texts)
    folds = int(folds)
    if groups is not None:
        if len(groups) != n:
            raise CategoryModelError("training data", f"{n} texts but {len(groups)} groups")
        folds = min(folds, len(set(groups)))  # one group a fold at most: leave-one-group-out
    if folds < 2 or n < max(folds, MIN_EXAMPLES):
        raise NotEnoughTrainingData(
            "training data",
            f"{n} entries in {len(set(groups or ()))} groups are too few for grouped "
            f"{folds}-fold cross-validation"
            if groups is not None
            else f"{n} entries are too few for {folds}-fold cross-validation",
            "confirm more categories in the review pages, then retrain",
        )
    counts = Counter(codes)
    if groups is not None:
        splits = GroupKFold(n_splits=folds).split(texts, codes, list(groups))
    elif min(counts.values()) >= folds:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = splitter.split(texts, codes)
    else:
        splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(texts)
    lex = [lexicon_distribution(t)[0] for t in texts]
    lex_pred = [classify_category(t, model=False)[0] for t in texts]
    comb_pred = list(lex_pred)
    model_pred = list(lex_pred)
    for train_idx, test_idx in splits:
        train_t = [texts[i] for i in train_idx]
        train_c = [codes[i] for i in train_idx]
        try:
            model = train_category_model(train_t, train_c, pipeline=pipeline)
        except NotEnoughTrainingData:
            continue  # the lexicon's reading stands
        probs = model.predict_proba_many([texts[i] for i in test_idx])
        for i, p in zip(test_idx, probs, strict=True):
            comb_pred[i] = mix(lex[i], p, model.weight if weight is None else weight)[0]
            model_pred[i] = max(p, key=lambda c: (p[c], -c))
    return {
        "n": n,
        "folds": folds,
        "lexicon": _scores(codes, lex_pred),
        "combined": _scores(codes, comb_pred),
        "model": _scores(codes, model_pred),
        "model_weight": round(model_weight(n), 4),
        "confusions": dict(
            Counter(f"{t}->{p}" for t, p in zip(codes, comb_pred, strict=True) if t != p)
        ),
    }


# --- shipped training texts and the default models (issue 13) -----------------------

#: entries the package ships to fit its default models (``tools/build_classify_data.py``)
TRAINING_FILE = "training.jsonl"
#: how much one reviewer-confirmed entry counts against one shipped training entry
CONFIRMED_WEIGHT = 3.0


@functools.lru_cache(maxsize=1)
def shipped_training() -> tuple[dict, ...]:
    """The shipped training entries: ``{"text", "category_code", "status", "book", ...}``."""
    import json

    from minqing.classify.lexicon import _data_text

    out = []
    for n, line in enumerate(_data_text(TRAINING_FILE).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            row["category_code"] = int(row["category_code"])
            if row["status"] not in STATUSES or row["category_code"] not in CATEGORIES:
                raise ValueError(row["status"])
        except (ValueError, KeyError, TypeError) as e:
            raise ClassifyDataError(
                f"classify/data/{TRAINING_FILE}", f"line {n} is malformed"
            ) from e
        out.append(row)
    return tuple(out)


def _fit(pipe, texts, labels, weights):
    pipe.fit(list(texts), list(labels), clf__sample_weight=list(weights))
    return pipe


def train_category_model(
    texts: Sequence[str], codes: Sequence[int], *, base: bool = False, pipeline=None
) -> CategoryModel:
    """Train a category model on entry texts and their (reviewer-confirmed) codes.

    ``base=True`` adds the shipped training entries (:func:`shipped_training`), the given
    ones counting :data:`CONFIRMED_WEIGHT` times each: a county's confirmations adapt the
    shipped model rather than replace it. ``pipeline``: a factory of the unfitted
    pipeline (default: the shipped recipe), for trying recipes in cross-validation.

    Raises:
        CategoryModelError: ``texts`` and ``codes`` differ in length, or a code is not 1..8.
        NotEnoughTrainingData: fewer than :data:`MIN_EXAMPLES` entries with text, or fewer
            than :data:`MIN_CLASSES` distinct categories among them (shipped ones included).
    """
    if len(texts) != len(codes):
        raise CategoryModelError(
            "training data", f"{len(texts)} texts but {len(codes)} category codes"
        )
    bad = sorted({c for c in codes if c not in CATEGORIES})
    if bad:
        raise CategoryModelError("training data", f"category codes {bad} are not 1..8")
    pairs = [
        (model_text(t), int(c), CONFIRMED_WEIGHT if base else 1.0)
        for t, c in zip(texts, codes, strict=True)
    ]
    if base:
        pairs += [(model_text(r["text"]), r["category_code"], 1.0) for r in shipped_training()]
    pairs = [p for p in pairs if p[0]]
    classes = {c for _, c, _ in pairs}
    if len(pairs) < MIN_EXAMPLES or len(classes) < MIN_CLASSES:
        raise NotEnoughTrainingData(
            "training data",
            f"{len(pairs)} entries with text in {len(classes)} categories; a model needs at "
            f"least {MIN_EXAMPLES} entries in {MIN_CLASSES} categories",
            "confirm more categories in the review pages, then retrain",
        )
    pipe = _fit((pipeline or _pipeline)(), *zip(*pairs, strict=True))
    return CategoryModel(pipe, n_examples=len(pairs))


@functools.lru_cache(maxsize=1)
def default_category_model() -> CategoryModel:
    """The category model fitted from the shipped training entries, once per process, and
    kept on disk for the next ones (:func:`_fitted_once`)."""

    def fit() -> CategoryModel:
        rows = shipped_training()
        return train_category_model([r["text"] for r in rows], [r["category_code"] for r in rows])

    return _fitted_once("category", fit, load_category_model)


def _code_fingerprint() -> str:
    """A hash of everything a default model depends on: the classify stage's code and data
    files, the classifier version, and the scikit-learn version."""
    import hashlib

    import sklearn

    h = hashlib.sha256(f"{CLASSIFIER_VERSION}|{sklearn.__version__}".encode())
    here = Path(__file__).resolve().parent
    for path in sorted([*here.glob("*.py"), *(here / "data").glob("*")]):
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:20]


def _fitted_once(kind: str, fit, load):
    """The default ``kind`` model: read from the cache folder when a process before this one
    fitted it from the same code and data (a fit takes seconds to tens of seconds, a read
    milliseconds), else fitted and written there (atomically; a folder that cannot be
    written only costs the next process a fit)."""
    from minqing.paths import cache_dir

    path = cache_dir() / "models" / f"{kind}-{_code_fingerprint()}.joblib"
    if path.is_file():
        try:
            return load(path)
        except CategoryModelError:
            pass  # damaged or foreign: fitted again and replaced below
    model = fit()
    with contextlib.suppress(OSError):
        model.save(path)
    return model


_STATUS_FORMAT = "minqing-status-model"


class StatusModel:
    """A trained status classifier (:func:`~classify.status.status_pipeline`).

    Attributes:
        n_examples: how many entries it was trained on (shipped ones included).
        n_confirmed: how many of them were reviewer-confirmed entries of an archive.
        classifier_version: :data:`~classify.CLASSIFIER_VERSION` at training time.
    """

    def __init__(self, pipeline, n_examples: int, n_confirmed: int = 0,
                 classifier_version: str = CLASSIFIER_VERSION):  # fmt: skip
        self._pipeline = pipeline
        self.n_examples = int(n_examples)
        self.n_confirmed = int(n_confirmed)
        self.classifier_version = classifier_version
        self.classes: tuple[str, ...] = tuple(str(c) for c in pipeline.classes_)

    def predict_proba(self, text: str) -> dict[str, float]:
        """Probability per status key (0 for statuses never seen in training)."""
        probs = self._pipeline.predict_proba([text])[0]
        out = {s: 0.0 for s in STATUSES}
        for s, p in zip(self.classes, probs, strict=True):
            out[s] = float(p)
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to ``path`` (atomically)."""
        from minqing.classify.status import STATUS_FEATURES

        return _dump(path, {
            "format": _STATUS_FORMAT,
            "features": STATUS_FEATURES,
            "n_examples": self.n_examples,
            "n_confirmed": self.n_confirmed,
            "classifier_version": self.classifier_version,
            "pipeline": self._pipeline,
        })  # fmt: skip

    def __repr__(self) -> str:
        return f"StatusModel(n_examples={self.n_examples}, n_confirmed={self.n_confirmed})"


def _dump(path, payload: dict) -> Path:
    import joblib
    import sklearn

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**payload, "sklearn_version": sklearn.__version__}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        joblib.dump(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def train_status_model(
    texts: Sequence[str] = (), statuses: Sequence[str] = (), *, base: bool = True
) -> StatusModel:
    """A status model fitted on the shipped training entries (``base``) and the given
    (reviewer-confirmed) ones, each of those counting :data:`CONFIRMED_WEIGHT` times.

    Raises:
        CategoryModelError: lengths differ or a status is not a key of ``STATUSES``.
        NotEnoughTrainingData: fewer than :data:`MIN_EXAMPLES` entries or two statuses.
    """
    from minqing.classify.status import status_pipeline

    if len(texts) != len(statuses):
        raise CategoryModelError(
            "training data", f"{len(texts)} texts but {len(statuses)} statuses"
        )
    bad = sorted({s for s in statuses if s not in STATUSES})
    if bad:
        raise CategoryModelError("training data", f"statuses {bad} are not {sorted(STATUSES)}")
    rows = [
        (t, s, CONFIRMED_WEIGHT if base else 1.0)
        for t, s in zip(texts, statuses, strict=True)
        if t.strip()
    ]
    n_confirmed = len(rows)
    if base:
        rows += [(r["text"], r["status"], 1.0) for r in shipped_training()]
    if len(rows) < MIN_EXAMPLES or len({s for _, s, _ in rows}) < MIN_CLASSES:
        raise NotEnoughTrainingData(
            "training data",
            f"{len(rows)} entries with text; a status model needs at least {MIN_EXAMPLES} in "
            f"{MIN_CLASSES} statuses",
            "confirm more statuses in the review pages, then retrain",
        )
    pipe = _fit(status_pipeline(), *zip(*rows, strict=True))
    return StatusModel(pipe, n_examples=len(rows), n_confirmed=n_confirmed)


@functools.lru_cache(maxsize=1)
def default_status_model() -> StatusModel:
    """The status model fitted from the shipped training entries, once per process, and kept
    on disk for the next ones (:func:`_fitted_once`)."""
    return _fitted_once("status", train_status_model, load_status_model)


def load_status_model(path: str | os.PathLike) -> StatusModel:
    """Read a model :meth:`StatusModel.save` wrote (same checks as
    :func:`load_category_model`, and one more: a model whose features were laid out by
    another :data:`~classify.status.STATUS_FEATURES` is refused, the message says to
    retrain)."""
    from minqing.classify.status import STATUS_FEATURES

    payload = _load_checked(path, _STATUS_FORMAT, "status")
    if payload.get("features", 1) != STATUS_FEATURES:
        raise CategoryModelError(
            str(path),
            f"holds status features of layout {payload.get('features', 1)}, this is "
            f"{STATUS_FEATURES}",
            "retrain it: minqing retrain",
        )
    return StatusModel(
        payload["pipeline"], payload.get("n_examples", 0), payload.get("n_confirmed", 0),
        str(payload.get("classifier_version", "")),
    )  # fmt: skip


def _load_checked(path, fmt: str, what: str) -> dict:
    import joblib
    import sklearn

    path = Path(path)
    retrain = "retrain it: minqing retrain"
    if not path.is_file():
        raise CategoryModelError(str(path), f"no such {what} model file", retrain)
    try:
        payload = joblib.load(path)
    except Exception as e:  # pickle/joblib raise many kinds on a damaged or foreign file
        raise CategoryModelError(
            str(path), f"cannot be read as a {what} model ({type(e).__name__})", retrain
        ) from e
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise CategoryModelError(str(path), f"is not a minqing {what} model", retrain)
    version = str(payload.get("classifier_version", ""))
    if version_major(version) != version_major(CLASSIFIER_VERSION):
        raise CategoryModelError(
            str(path),
            f"was trained by {version or 'an unknown version'}, this is {CLASSIFIER_VERSION} "
            f"(another major version)",
            retrain,
        )
    saved_sk = str(payload.get("sklearn_version", ""))
    if saved_sk.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise CategoryModelError(
            str(path),
            f"was written by scikit-learn {saved_sk or '?'}, this is {sklearn.__version__}",
            retrain,
        )
    return payload
