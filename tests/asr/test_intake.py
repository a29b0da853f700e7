"""Intake classification on three sets: the training corpus (config/intake_corpus.yaml, what
the models learn from), the dev sentences (tests/asr/intake_dev.yaml, never trained on) and
the first rules' 100 examples (tests/asr/intake_cases.py, not trained on either). Then one
test per kind of hard sentence, the confirm band, the evidence, and the mechanics."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from asr.intake import (
    Example,
    IntakeClassifier,
    IntakeResult,
    IntakeRules,
    IntakeRulesError,
    load_corpus,
    load_intake_rules,
    normalise,
)
from asr.intake.text import counts
from asr.segmenter import JiebaSegmenter
from tests.asr.intake_cases import CASES, Case

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
RULES_PATH = REPO / "config" / "intake.yaml"
DEV_PATH = REPO / "tests" / "asr" / "intake_dev.yaml"
KINDS = {
    "dialect",
    "rambling",
    "cluster",
    "occupational",
    "animal",
    "chemical",
    "obstetric",
    "choking",
    "past",
    "calm",
}


@pytest.fixture(scope="module")
def rules() -> IntakeRules:
    return load_intake_rules(RULES_PATH)


@pytest.fixture(scope="module")
def classifier(rules: IntakeRules) -> IntakeClassifier:
    return IntakeClassifier(rules, JiebaSegmenter(rules.vocabulary()))


@pytest.fixture(scope="module")
def dev(rules: IntakeRules) -> tuple[Example, ...]:
    return load_corpus(DEV_PATH, rules)


def _figures(examples: Sequence[Example], classifier: IntakeClassifier) -> dict[str, float]:
    """Rates as bench/intake_eval/run.py computes them (that runner prints the errors)."""
    results = [(e, classifier.classify(e.text)) for e in examples]
    emergencies = [(e, r) for e, r in results if e.line is not None]
    others = [(e, r) for e, r in results if e.line is None]
    domains = [(e, r) for e, r in results if e.domain is not None]
    return {
        "recall_sure": sum(r.emergency_line == e.line for e, r in emergencies) / len(emergencies),
        "recall_asked": sum((r.emergency_line or r.confirm_line) == e.line for e, r in emergencies)
        / len(emergencies),
        "confirm_emergencies": sum(r.confirm_line is not None for _, r in emergencies)
        / len(emergencies),
        "confirm_others": sum(r.confirm_line is not None for _, r in others) / len(others),
        "false_alarms": sum(r.emergency_line is not None for _, r in others) / len(others),
        "wrong_line": sum(r.emergency_line not in (None, e.line) for e, r in emergencies)
        / len(emergencies),
        "category": sum(r.category == e.category for e, r in results) / len(results),
        "domain": sum(r.domain == e.domain for e, r in domains) / len(domains),
    }


def test_the_corpus_is_large_and_has_every_kind(rules: IntakeRules) -> None:
    assert len(rules.corpus) >= 400
    assert {e.kind for e in rules.corpus} >= KINDS
    lines = {e.line for e in rules.corpus}
    assert lines >= {"medical_120", "fire_119", "police_110", "traffic_122", "public_health_duty"}


def test_no_dev_or_seed_sentence_is_trained_on(
    rules: IntakeRules, dev: tuple[Example, ...]
) -> None:
    trained = {normalise(e.text) for e in rules.corpus}
    assert not [e.text for e in dev if normalise(e.text) in trained]
    assert not [c.text for c in CASES if normalise(c.text) in trained]
    assert {e.kind for e in dev} >= KINDS


def test_training_corpus_accuracy(rules: IntakeRules, classifier: IntakeClassifier) -> None:
    """Resubstitution (the models saw these): a floor against regressions, not a measure."""
    f = _figures(rules.corpus, classifier)
    assert f["recall_sure"] >= 0.98 and f["false_alarms"] == 0 and f["wrong_line"] <= 0.01
    # 0.98 with 1,770 sentences; 0.967 with 2,250 (the writers' domains of chemical exposures
    # and outbreaks overlap): a floor against regressions, the measure is the held-out set.
    assert f["category"] >= 0.98 and f["domain"] >= 0.95


def test_dev_accuracy(dev: tuple[Example, ...], classifier: IntakeClassifier) -> None:
    """Never trained on (but written by the corpus' first author). Measured with the learnt
    line: 98.2 % sure (100 % with confirm), 0 false alarms, category 98.2 %, domain 98.6 %
    (bench.intake_eval.run tests/asr/intake_dev.yaml)."""
    f = _figures(dev, classifier)
    assert f["recall_asked"] >= 0.95 and f["recall_sure"] >= 0.94
    assert f["false_alarms"] == 0 and f["wrong_line"] == 0
    assert f["category"] >= 0.93 and f["domain"] >= 0.88
    assert f["confirm_others"] <= 0.02 and f["confirm_emergencies"] <= 0.10  # a narrow band


def test_the_first_examples(classifier: IntakeClassifier) -> None:
    """The first rules' examples, with their menu keys: every emergency on its line, no false
    alarm, and the labels mostly right (measured 97 of 100 before these models)."""
    results = [(c, classifier.classify(c.text, c.menu)) for c in CASES]
    assert not [c.text for c, r in results if c.line is None and r.emergency_line]
    # measured: one miss, "医院门口出车祸了，有人被撞倒在地上" (traffic_122) asked as medical_120
    assert len([c.text for c, r in results if r.emergency_line != c.line]) <= 1
    right = sum(
        r.category == c.category and (c.domain is None or r.domain == c.domain) for c, r in results
    )
    assert right >= 90


# --- one test per kind of hard sentence (none of these is in the corpus or the dev set)
@pytest.mark.parametrize(
    ("kind", "text", "line", "category", "domain"),
    [
        ("dialect", "俺娘一头栽倒在炕上，喊也喊不应", "medical_120", "help", None),
        ("dialect", "我老汉儿心口痛，汗都冒出来了，气都出不赢", "medical_120", "help", None),
        ("dialect", "阿拉阿爸跌倒了，人叫勿醒", "medical_120", "help", None),
        (
            "rambling",
            "喂，你好，是这样的，我也说不好，我们家老太太，早上还好好的，刚才就不说话了，叫也没反应",
            "medical_120",
            "help",
            None,
        ),
        (
            "cluster",
            "我们厂宿舍昨天三个人发烧，今天十几个了",
            "public_health_duty",
            "report",
            "infectious_disease",
        ),
        (
            "cluster",
            "亲戚家办满月酒，吃完二十几个人拉肚子",
            "public_health_duty",
            "report",
            "food_safety",
        ),
        (
            "occupational",
            "污水处理厂有个工人下到池子里清理，一下去就晕倒了，里面一股臭鸡蛋味",
            "public_health_duty",
            "report",
            "occupational_poisoning",
        ),
        (
            "animal",
            "村里的鸡成批地死，喂鸡的大姐也开始发高烧",
            "public_health_duty",
            "report",
            "infectious_disease",
        ),
        (
            "chemical",
            "楼下仓库漏出来一股刺鼻的气味，楼上好几家人都头晕想吐",
            "public_health_duty",
            "report",
            "occupational_poisoning",
        ),
        ("chemical", "化工厂刚才爆炸了，现在一股很呛的味道，有人头晕", "fire_119", "help", None),
        ("obstetric", "我老婆怀孕八个月，刚才下面突然流血不止", "medical_120", "help", None),
        ("choking", "孩子吃枣子噎住了，脸都憋紫了", "medical_120", "help", None),
        (
            "past",
            "上礼拜我爸晕过去了，现在没事了，我想投诉那家医院",
            None,
            "complaint",
            "medical_service",
        ),
        ("past", "我爸去年中风过，现在又突然说不出话了", "medical_120", "help", None),
        ("trap_calm", "不着急，就想问下家里老人万一噎住了该怎么拍背", None, "consult", None),
        ("trap_mild", "我这两天有点咳嗽嗓子疼，要不要去医院看看", None, "consult", None),
        ("trap_other", "上个月邻居家着火，消防来得太慢了，我要投诉", None, "complaint", None),
        (
            "calm",
            "不是急事，想问问万一孩子抽搐了家长应该怎么做",
            None,
            "consult",
            "prevention",
        ),
    ],
)
def test_every_kind(
    classifier: IntakeClassifier,
    kind: str,
    text: str,
    line: str | None,
    category: str,
    domain: str | None,
) -> None:
    result = classifier.classify(text)
    got = (result.emergency_line, result.category, result.domain if domain else None)
    assert got == (line, category, domain), f"{kind}: {result.evidence}"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("我爸去年中风过", None),  # past: the marker governs its clause
        ("我爸去年中风过现在又突然说不出话了", "medical_120"),  # no punctuation (Vosk)
        ("我 爸 突然 昏迷 了", "medical_120"),  # a Vosk transcript
        ("我妈以前晕倒过", None),  # an experience ("…过")
        ("我爸刚才晕倒了，已经醒过来了，现在好了", None),  # resolved
        ("我爸刚才晕倒了，还没醒过来", "medical_120"),  # "没醒过来" is not resolved
        ("他没有昏迷", None),  # negated
        ("他没有昏迷，但是胸痛，出了一身冷汗", "medical_120"),  # the negation ends at the comma
        ("听说邻村好多人发烧", None),  # another's story
        ("要是家里着火了怎么逃生", None),  # hypothetical
        ("我有点头晕", None),  # mild
    ],
)
def test_clauses_and_markers(classifier: IntakeClassifier, text: str, line: str | None) -> None:
    assert classifier.classify(text).emergency_line == line


# --- the confirm band
def test_a_bare_greeting_is_never_sure(classifier: IntakeClassifier) -> None:
    """No rule cue: sure needs p >= unbacked. A known wart, not pinned here: the model may
    still put a bare greeting in the confirm band, so the IVR asks (docs/intake-classifier.md)."""
    assert classifier.classify("喂你好，是这样的").emergency_line is None


@pytest.mark.parametrize(
    ("text", "sure", "confirm", "category"),
    [
        ("他昏迷了", "medical_120", None, "help"),
        ("我爸有点胸口疼", None, "medical_120", None),  # mild: the model is not sure
        ("我爸刚才晕倒了，已经醒过来了，现在好了", None, "medical_120", None),  # rules cancel
        ("听说邻村好多人发烧", None, "public_health_duty", None),  # a story: rules cancel
        ("不是急事，我爸昏迷过一次", None, None, "consult"),
    ],
)
def test_the_confirm_band(
    classifier: IntakeClassifier,
    text: str,
    sure: str | None,
    confirm: str | None,
    category: str | None,
) -> None:
    """A line to confirm does not decide the category (the caller may decline)."""
    result = classifier.classify(text)
    assert (result.emergency_line, result.confirm_line) == (sure, confirm)
    if category is not None:
        assert result.category == category


def test_the_band_follows_the_thresholds(classifier: IntakeClassifier) -> None:
    """Sure at p >= sure (when the rules back it), asked in [confirm, sure), else nothing."""
    low, high = classifier.thresholds.confirm, classifier.thresholds.sure
    for text in ("我爸有点胸口疼", "他昏迷了", "我想问一下医保报销", "邻居家好像有烟味"):
        result = classifier.classify(text)
        probs = {k[2:]: v for k, v in result.scores.items() if k.startswith("p:")}
        p = max(v for k, v in probs.items() if k != "none")
        assert (result.emergency_line is not None) == (p >= high), text
        assert (result.confirm_line is not None) == (low <= p < high), text


def test_a_line_to_confirm_is_stored_with_the_order(classifier: IntakeClassifier) -> None:
    stored = classifier.classify("我爸有点胸口疼").for_order()
    assert (stored["emergency_line"], stored["confirm_line"]) == (None, "medical_120")
    assert set(stored) == {"category", "domain", "emergency_line", "confirm_line", "evidence"}
    assert classifier.classify("他昏迷了").as_dict()["confirm_line"] is None


# --- evidence
def _kinds(result: IntakeResult) -> set[tuple[str, str, str]]:
    return {(e.kind, e.label, e.word) for e in result.evidence}


def test_evidence_names_words_frames_and_what_cancelled_them(
    classifier: IntakeClassifier,
) -> None:
    result = classifier.classify("救命，我爸没有昏迷，但是突然胸口疼，一身冷汗", "5")
    evidence = _kinds(result)
    assert ("negated", "medical_120", "昏迷") in evidence
    assert ("frame", "medical_120", "chest_pain: 胸口疼+冷汗") in evidence
    assert ("acute", "medical_120", "救命") in evidence
    assert ("menu", "help", "5") in evidence
    assert result.emergency_line == "medical_120"

    past = _kinds(classifier.classify("去年我爸中风了，我要投诉医院"))
    assert ("suppressed", "medical_120", "中风 ← 去年") in past
    assert ("time", "past", "去年") in past
    assert ("suppressor", "complaint", "投诉") in past

    cluster = classifier.classify("车间里二十来个人都开始咳嗽发烧")
    assert ("frame", "public_health_duty", "cluster: 二十来个+咳嗽") in _kinds(cluster)


def test_the_models_top_features_are_evidence(classifier: IntakeClassifier) -> None:
    result = classifier.classify("医院的护士态度太差了，我要投诉")
    assert (result.category, result.domain) == ("complaint", "medical_service")
    category = [e for e in result.evidence if e.kind == "category"]
    domain = [e for e in result.evidence if e.kind == "domain"]
    assert category and all(e.label == "complaint" and e.weight > 0 for e in category)
    assert domain and all(e.label == "medical_service" for e in domain)
    assert all(0 < len(e.word) <= 64 for e in result.evidence)


# --- mechanics
@pytest.mark.parametrize(
    ("text", "menu", "category"),
    [
        ("喂你好，是这样的", "2", "complaint"),  # nothing telling: the menu decides
        ("我想问一下", None, "consult"),
        ("我要投诉，态度太差", "1", "complaint"),  # the text outweighs the menu
        ("", "4", "suggestion"),  # nothing said: the menu decides
        ("", None, "consult"),  # nothing at all: the default
        ("", "9", "consult"),  # a key that is not a category
    ],
)
def test_menu_and_defaults(
    classifier: IntakeClassifier, text: str, menu: str | None, category: str
) -> None:
    assert classifier.classify(text, menu).category == category


def test_training_is_deterministic(rules: IntakeRules, classifier: IntakeClassifier) -> None:
    again = IntakeClassifier(rules, JiebaSegmenter(rules.vocabulary()))
    text = "孩子打完疫苗一直发烧，防保科说没关系"
    assert again.classify(text).scores == classifier.classify(text).scores


@pytest.mark.parametrize(
    ("text", "expected"),
    [("我 爸 昏迷 了", "我爸昏迷了"), (" 12320 热线 ", "12320 热线"), ("Vosk 识别", "Vosk 识别")],
)
def test_vosk_transcripts_are_joined(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_seed_cases_keep_their_menu_keys() -> None:
    assert any(isinstance(c, Case) and c.menu for c in CASES)


# --- loading
@pytest.mark.parametrize(
    ("text", "most"),
    [
        ("车间里二十来个人", 20),
        ("七八个工人", 7),
        ("十几个学生", 12),
        ("一家五口", 5),
        ("好几十人", 40),
        ("等了三个小时", None),  # time, not people
        ("怀孕八个月", None),
    ],
)
def test_counts_of_people(text: str, most: int | None) -> None:
    assert max((c.value for c in counts(text)), default=None) == most


def test_rule_errors_name_file_line_and_column(tmp_path: Path) -> None:
    rules = tmp_path / "intake.yaml"
    text = RULES_PATH.read_text(encoding="utf-8")
    rules.write_text(text.replace("all_of: [hazards, exposure_ill]", "all_of: [hazard, x]"))
    with pytest.raises(
        IntakeRulesError,
        match=r"intake\.yaml:\d+:\d+ emergencies\.\w+\.frames\[\d+\]\.all_of\[0\]: "
        r"unknown class 'hazard' \(did you mean 'hazards'\?\)",
    ):
        load_intake_rules(rules)
    rules.write_text("version: [", encoding="utf-8")
    with pytest.raises(IntakeRulesError, match=str(rules)):
        load_intake_rules(rules)
    with pytest.raises(IntakeRulesError, match="missing"):
        load_intake_rules(tmp_path / "missing.yaml")


def test_corpus_errors_name_the_sentence(tmp_path: Path, rules: IntakeRules) -> None:
    corpus = tmp_path / "c.yaml"
    corpus.write_text(
        "- {text: 我爸昏迷了, line: medical_120, category: help, domain: null}\n"
        "- {text: 我爸昏迷了, line: ambulance, category: help, domain: null}\n",
        encoding="utf-8",
    )
    with pytest.raises(IntakeRulesError, match=r"c\.yaml:2:3 \[1\]: line 'ambulance'"):
        load_corpus(corpus, rules)


def test_a_corpus_directory_is_read_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "intake.yaml").write_text(
        RULES_PATH.read_text(encoding="utf-8").replace(
            "corpus: intake_corpus ", "corpus: corpus_dir "
        ),
        encoding="utf-8",
    )
    corpus = tmp_path / "corpus_dir"
    corpus.mkdir()
    (corpus / "b.yaml").write_text(
        "- {text: 我爸昏迷了, line: medical_120, category: help, domain: null}\n",
        encoding="utf-8",
    )
    (corpus / "a.yaml").write_text(
        "- {text: 想问疫苗, line: null, category: consult, domain: prevention}\n"
        "- {text: 坏的, line: null, category: nonsense, domain: null}\n",
        encoding="utf-8",
    )
    with pytest.raises(IntakeRulesError, match=r"a\.yaml:2:3 \[1\]: category 'nonsense'"):
        load_intake_rules(tmp_path / "intake.yaml")
    (corpus / "a.yaml").write_text(
        "- {text: 想问疫苗, line: null, category: consult, domain: prevention}\n",
        encoding="utf-8",
    )
    rules = load_intake_rules(tmp_path / "intake.yaml")
    assert [e.text for e in rules.corpus] == ["想问疫苗", "我爸昏迷了"]


def test_the_tuner_folds_and_thresholds() -> None:
    """bench.intake_eval.tune: stratified folds, the lowest thresholds within the limits."""
    from bench.intake_eval.tune import OutOfFold, choose, folds

    def example(line: str | None) -> Example:
        return Example("x", line, "help", None)

    assert folds([example("a"), example(None), example("a"), example("a")], 2) == [0, 0, 1, 0]
    calm = [OutOfFold(example(None), "medical_120", p) for p in (0.9, 0.5, 0.3) + (0.01,) * 97]
    # one false alarm in 100 allowed: sure just above 0.5; one question (0.5) allowed
    assert choose(calm, 0.01, 0.01) == (0.51, 0.31)
    assert choose(calm, 0.0, 0.0) == (0.91, 0.91)  # no band at all


def test_a_misspelt_rules_key_names_file_line_column_and_the_near_miss(tmp_path: Path) -> None:
    rules = tmp_path / "intake.yaml"
    text = RULES_PATH.read_text(encoding="utf-8")
    rules.write_text(text.replace("  strong: 3 ", "  strnog: 3 ", 1), encoding="utf-8")
    line = text.splitlines().index(
        next(x for x in text.splitlines() if x.startswith("  strong: 3"))
    )
    with pytest.raises(IntakeRulesError) as caught:
        load_intake_rules(rules)
    assert str(caught.value) == (
        f"{rules}:{line + 1}:3 scoring.strnog: unknown scoring key(s) strnog "
        "(did you mean 'strong'?)"
    )
