"""classify.model: the trained category classifier and its combination with the lexicon."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pytest

from minqing.classify import (
    CLASSIFIER_VERSION,
    CategoryModel,
    classify_category,
    cross_validate_category,
    inherit_categories,
    link_entries,
    load_category_model,
    segment_book,
    train_category_model,
)
from minqing.classify.errors import CategoryModelError, NotEnoughTrainingData
from minqing.classify.types import CATEGORIES, BookLine

CORPUS = Path(__file__).parent / "data" / "corpus"
HELD_OUT = "qingshan-zhaoli"


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((CORPUS / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def five_book_model(truth) -> CategoryModel:
    train = [e for e in truth["entries"] if e["book_id"] != HELD_OUT]
    return train_category_model([e["text"] for e in train], [e["category_code"] for e in train])


def test_model_trained_on_five_books_holds_or_improves_the_sixth(truth, five_book_model):
    test = [e for e in truth["entries"] if e["book_id"] == HELD_OUT]
    assert test and five_book_model.n_examples == len(truth["entries"]) - len(test)
    lex = sum(classify_category(e["text"], model=False)[0] == e["category_code"] for e in test)
    comb = sum(
        classify_category(e["text"], model=five_book_model)[0] == e["category_code"] for e in test
    )
    alone = 0
    for e in test:
        probs = five_book_model.predict_proba(e["text"])
        assert set(probs) == set(CATEGORIES)
        assert sum(probs.values()) == pytest.approx(1.0)
        alone += max(probs, key=probs.get) == e["category_code"]
    assert comb >= lex
    # the model alone has learnt something (8 categories: chance is ~1/8)
    assert alone / len(test) >= 0.5


def test_evidence_names_ngrams_of_the_text(five_book_model):
    text = "三组村民反映自来水管冻裂，吃水难。"
    code, score, _evidence = classify_category(text, model=five_book_model)
    assert code == 5 and 0 < score <= 1
    ev = five_book_model.evidence(text, 5)
    assert ev and all(len(g) >= 2 and g in text for g in ev)
    assert five_book_model.evidence(text, 99) == ()


def test_weight_rises_with_training_examples(five_book_model):
    from minqing.classify.model import WEIGHT_MAX, model_weight

    assert 0 < model_weight(20) < model_weight(50) < model_weight(500) <= WEIGHT_MAX
    assert five_book_model.weight == model_weight(five_book_model.n_examples)


def test_save_load_round_trip(tmp_path, truth, five_book_model):
    path = five_book_model.save(tmp_path / "models" / "category.joblib")
    assert path.is_file() and not list(path.parent.glob("*.tmp"))
    again = load_category_model(path)
    assert again.classes == five_book_model.classes
    assert again.n_examples == five_book_model.n_examples
    assert again.classifier_version == CLASSIFIER_VERSION
    for e in truth["entries"][:10]:
        assert again.predict_proba(e["text"]) == five_book_model.predict_proba(e["text"])
        assert classify_category(e["text"], model=again) == classify_category(
            e["text"], model=five_book_model
        )


def test_model_from_another_major_version_is_refused(tmp_path, five_book_model):
    path = tmp_path / "old.joblib"
    old = CategoryModel(five_book_model._pipeline, 40, classifier_version="classify-0.3")
    old.save(path)
    with pytest.raises(CategoryModelError) as exc:
        load_category_model(path)
    msg = str(exc.value)
    assert str(path) in msg and "classify-0.3" in msg and "minqing retrain" in msg
    # a minor version difference loads
    major = CLASSIFIER_VERSION.removeprefix("classify-").split(".")[0]
    CategoryModel(five_book_model._pipeline, 40, f"classify-{major}.99").save(path)
    assert load_category_model(path).classifier_version == f"classify-{major}.99"


def test_model_from_another_scikit_learn_is_refused(tmp_path, five_book_model):
    path = five_book_model.save(tmp_path / "m.joblib")
    payload = joblib.load(path)
    payload["sklearn_version"] = "0.24.2"
    joblib.dump(payload, path)
    with pytest.raises(CategoryModelError, match=r"scikit-learn 0\.24\.2"):
        load_category_model(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such category model file"),
        (b"not a pickle at all", "cannot be read as a category model"),
        ("pickled-dict", "is not a minqing category model"),
    ],
)
def test_bad_model_files_are_refused_with_the_path(tmp_path, content, problem):
    path = tmp_path / "category.joblib"
    if content == "pickled-dict":
        joblib.dump({"format": "something else"}, path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(CategoryModelError) as exc:
        load_category_model(path)
    assert str(exc.value).startswith(str(path)) and problem in str(exc.value)


def test_training_needs_enough_confirmed_categories():
    with pytest.raises(NotEnoughTrainingData, match="confirm more categories"):
        train_category_model(["村里修路"] * 30, [5] * 30)  # one category only
    with pytest.raises(NotEnoughTrainingData):
        train_category_model(["修路", "低保"], [5, 5])
    with pytest.raises(CategoryModelError, match=r"not 1\.\.8"):
        train_category_model(["修路"] * 12, [9] * 12)
    with pytest.raises(CategoryModelError, match="3 texts but 2"):
        train_category_model(["a", "b", "c"], [1, 2])


def test_cross_validation_reports_lexicon_and_combined(truth):
    entries = truth["entries"]
    cv = cross_validate_category(
        [e["text"] for e in entries], [e["category_code"] for e in entries], folds=3
    )
    assert cv["n"] == len(entries) and cv["folds"] == 3
    for key in ("lexicon", "combined", "model"):
        assert 0.0 <= cv[key]["macro_f1"] <= cv[key]["accuracy"] + 0.2
        assert 0.0 < cv[key]["accuracy"] <= 1.0
    # on this corpus the lexicon is strong; the model must not make it worse
    assert cv["combined"]["accuracy"] >= cv["lexicon"]["accuracy"] - 0.02
    with pytest.raises(NotEnoughTrainingData):
        cross_validate_category(["修路"] * 4, [5, 5, 7, 7], folds=5)


def test_grouped_cross_validation_keeps_each_writer_out_of_its_own_training():
    # each writer marks category 1 and 2 by signs of their own (no lexicon word): within a
    # writer they are learnable, across writers they carry nothing
    signs = ["甲乙", "丙丁", "戊己", "庚辛", "壬癸", "子丑"]
    texts, codes, groups = [], [], []
    for w, pair in enumerate(signs):
        for k in range(8):
            code = 1 + k % 2
            texts.append(pair[code - 1] * 4 + "呵" * (k + 1))
            codes.append(code)
            groups.append(f"w{w}")
    mixed = cross_validate_category(texts, codes, folds=4)
    grouped = cross_validate_category(texts, codes, folds=99, groups=groups)
    assert grouped["folds"] == len(signs)  # more folds than writers: one writer per fold
    assert mixed["model"]["accuracy"] >= 0.95  # the writer's own signs were learnt
    assert grouped["model"]["accuracy"] <= 0.7  # a held-out writer's signs are unseen
    assert set(grouped["confusions"]) <= {"1->2", "2->1", "1->8", "2->8"}
    assert sum(grouped["confusions"].values()) == round(48 * (1 - grouped["combined"]["accuracy"]))
    with pytest.raises(CategoryModelError, match="groups"):
        cross_validate_category(texts, codes, groups=groups[:-1])


def test_model_reads_many_texts_as_it_reads_one(five_book_model, truth):
    texts = [e["text"] for e in truth["entries"][:5]]
    many = five_book_model.predict_proba_many(texts)
    for text, probs in zip(texts, many, strict=True):
        one = five_book_model.predict_proba(text)
        assert probs.keys() == one.keys()
        assert all(abs(probs[c] - one[c]) < 1e-9 for c in CATEGORIES)


def _lines(book_id, rows):
    return [BookLine(f"{book_id}/1/{i}", 1, i, t, (50.0, 40.0 + 50 * i, 900.0, 80.0 + 50 * i), 1400)
            for i, t in enumerate(rows)]  # fmt: skip


def test_confirmed_categories_are_never_changed():
    """The classifier only proposes; inheriting a category skips entries marked confirmed."""
    rows = [
        "2024年3月5日",
        "村民李大山和邻居刘长贵为宅基地边界发生纠纷，到现场调解。",
        "2024年3月20日",
        "回访李大山和刘长贵两家，新院墙已经砌好，两家见面也打招呼了。",
    ]
    # the lexicon alone (model=False), which names no category for the follow-up
    books = {"b": segment_book(_lines("b", rows), model=False)}
    links = link_entries(books, {"b": "杨树沟村"})
    assert [(lk.child, lk.parent) for lk in links] == [(("b", 2), ("b", 1))]
    assert [e.category_code for e in books["b"]] == [4, 8]
    inherited = inherit_categories(books, links)["b"]
    assert inherited[1].category_code == 4
    assert inherited[1].category_evidence == ("inherited:b:001",)
    assert books["b"][1].category_code == 8  # the input is untouched
    kept = inherit_categories(books, links, confirmed={("b", 2)})["b"]
    assert kept[1] is books["b"][1]
    # the public API takes text and returns a proposal: there is nothing to overwrite
    assert classify_category(books["b"][1].text, model=False) == (8, 0.0, ())


def test_default_models_are_fitted_once_and_read_back(tmp_path, monkeypatch):
    """A process fits the shipped models once and leaves them in the cache folder; the next
    process reads them (same predictions) instead of fitting; a damaged file is refitted."""
    from minqing.classify import model as m

    text = "村民反映自来水管冻裂，十几户人家吃水困难，已上报镇水利站。"
    monkeypatch.setenv("MINQING_CACHE", str(tmp_path))
    m.default_category_model.cache_clear()
    try:
        first = m.default_category_model()
        (path,) = (tmp_path / "models").glob("category-*.joblib")
        m.default_category_model.cache_clear()
        fits: list[int] = []
        real = m.train_category_model
        monkeypatch.setattr(
            m, "train_category_model", lambda *a, **k: fits.append(1) or real(*a, **k)
        )
        again = m.default_category_model()
        assert fits == []  # read back, not fitted
        assert again.predict_proba(text) == first.predict_proba(text)
        path.write_bytes(b"not a model")
        m.default_category_model.cache_clear()
        third = m.default_category_model()
        assert fits == [1]  # refitted and written back
        assert third.predict_proba(text) == first.predict_proba(text)
        assert m.load_category_model(path).predict_proba(text) == first.predict_proba(text)
    finally:
        m.default_category_model.cache_clear()
