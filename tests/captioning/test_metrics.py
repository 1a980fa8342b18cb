"""Tests of finsta_cli/captioning/metrics.py: hand-checked values, the pure-Python route against
pycocoevalcap on the same captions, and the errors."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finsta_cli.captioning.metrics import (
    bleu_scores,
    cider_d_score,
    java_available,
    lcs_length,
    ptb_tokenize,
    pycocoevalcap_available,
    quiet_output,
    resolve_backend,
    rouge_l_score,
    score_captions,
)
from finsta_cli.errors import InputError, MissingResourceError

needs_reference = pytest.mark.skipif(
    not (java_available() and pycocoevalcap_available()),
    reason="pycocoevalcap and java are needed for the reference scores",
)

_SUBJECTS = ["a man", "a woman", "the dog", "two kids", "a chef", "people", "a red car"]
_VERBS = ["is cooking", "plays", "runs on", "talks about", "drives down", "sits near", "shows"]
_OBJECTS = ["the road", "a guitar", "some food", "the beach", "a ball", "the news", "a cat"]
_TAILS = ["", " in a kitchen", " at night", " while smiling", " with a friend"]


def _caption(rng: random.Random) -> str:
    words = [rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS)]
    text = " ".join(words) + rng.choice(_TAILS)
    # Capitals, a final period and a comma: tokenized alike by PTB and the Python tokenizer.
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:] + "."
    if rng.random() < 0.2:
        text = text.replace(" while", ", while")
    return text


def caption_set(videos: int = 40, seed: int = 0) -> tuple[dict[str, list[str]], dict[str, str]]:
    """References (1 to 6 a video) and predictions built from a small vocabulary, so that
    n-grams are shared across videos (CIDEr's document frequencies matter)."""
    rng = random.Random(seed)
    references = {f"v{i}": [_caption(rng) for _ in range(rng.randint(1, 6))] for i in range(videos)}
    predictions = {v: _caption(rng) for v in references}
    predictions["v0"] = references["v0"][0]  # one exact hit
    predictions["v1"] = "plays"  # shorter than every reference: the brevity penalty
    return references, predictions


@pytest.fixture(scope="module")
def reference_scores() -> dict[str, float]:
    """pycocoevalcap's own BLEU, ROUGE-L and CIDEr-D of caption_set(), on its PTB tokens (one JVM
    start a module; METEOR, whose paraphrase tables take ~10-20 s to load, is in the slow test)."""
    if not (java_available() and pycocoevalcap_available()):
        pytest.skip("pycocoevalcap and java are needed for the reference scores")
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    references, predictions = caption_set()
    with quiet_output():
        tokenizer = PTBTokenizer()
        gts = tokenizer.tokenize(
            {v: [{"caption": c} for c in refs] for v, refs in references.items()}
        )
        res = tokenizer.tokenize({v: [{"caption": c}] for v, c in predictions.items()})
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    scores = {f"bleu_{n + 1}": float(bleu[n]) for n in range(4)}
    scores["rouge_l"] = float(Rouge().compute_score(gts, res)[0])
    scores["cider"] = float(Cider().compute_score(gts, res)[0])
    return scores


METRICS = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "cider")


@needs_reference
def test_python_route_equals_pycocoevalcap(reference_scores: dict[str, float]) -> None:
    references, predictions = caption_set()
    ours = score_captions(references, predictions, backend="python")
    assert ours.backend == "python" and ours.meteor is None and ours.meteor_impl is None
    for name in METRICS:
        assert getattr(ours, name) == pytest.approx(reference_scores[name], abs=1e-9), name
    assert 0 < ours.bleu_4 < ours.bleu_1 < 1 and ours.cider > 0
    assert ours.videos == 40


@pytest.mark.slow
@needs_reference
def test_pycocoevalcap_route(
    reference_scores: dict[str, float], capfd: pytest.CaptureFixture[str]
) -> None:
    references, predictions = caption_set()
    scores = score_captions(references, predictions, backend="pycocoevalcap")
    assert scores.backend == "pycocoevalcap"
    assert scores.tokenizer == "ptb (pycocoevalcap, Stanford CoreNLP 3.4.1)"
    assert scores.meteor is not None and 0 < scores.meteor < 1
    assert scores.meteor_impl == "meteor-1.5 (pycocoevalcap)"
    for name in METRICS:
        assert getattr(scores, name) == pytest.approx(reference_scores[name], abs=1e-12), name
    # Neither pycocoevalcap's prints nor its JVMs' messages reach stdout or stderr.
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# Strings the Python tokenizer must split as the PTB jar does (checked with the jar itself).
TRICKY = [
    "A man's dog doesn't run.",
    'He can\'t go; she cannot "stay" (really).',
    "The U.S. team won 3.5 points, 1,000 times!",
    "Mr. Smith and Dr. Who at 5 p.m.",
    "a well-known man -- really - here...",
    "cats/dogs & birds 50% $5 #1",
    "She said 'hello' and it's fine",
    "gonna wanna gotta don't won't I'm you're we've they'd we'll",
    "What?! No... yes!!",
    "a video of a man in the u.s.",
    "x{y}z [box] a+b=c",
    "people are dancing, singing and laughing at 10:30",
    "man 's foot on the snow board",  # FACTUAL's pre-split clitics
    "a trailer filled with luggage.a trailer",
    "not to mention all that long attractive fur..... ok .. then",
    "Putting [something] on [something]",
]


@needs_reference
def test_python_tokenizer_matches_ptb_on_tricky_captions() -> None:
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    from finsta_cli.captioning.ptb import tokenize

    with quiet_output():
        ptb = PTBTokenizer().tokenize({str(i): [{"caption": t}] for i, t in enumerate(TRICKY)})
    for i, text in enumerate(TRICKY):
        assert " ".join(tokenize(text)) == ptb[str(i)][0], text


@needs_reference
def test_ptb_tokenize_is_pycocoevalcaps_and_writes_nothing_in_its_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pycocoevalcap route's tokenizer gives pycocoevalcap's tokens, blank captions and
    several captions a video included, and runs with the package read-only (simulated: any
    write under its folder is refused, as for a user without write access to a system
    site-packages; pycocoevalcap's own tokenizer fails there)."""
    import os

    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    from finsta_cli.captioning.metrics import _pycocoevalcap_dir

    captions = {str(i): [t] for i, t in enumerate(TRICKY)}
    captions["many"] = ["A dog runs.", "", "Two cats sit (quietly)."]
    captions["blank"] = [""]
    with quiet_output():
        reference = PTBTokenizer().tokenize(
            {v: [{"caption": t} for t in texts] for v, texts in captions.items()}
        )
    package = str(_pycocoevalcap_dir())
    real_open = os.open
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def read_only(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & writes and os.path.abspath(str(path)).startswith(package):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", read_only)
    with quiet_output(), pytest.raises(PermissionError):
        PTBTokenizer().tokenize({"x": [{"caption": "a dog"}]})
    assert ptb_tokenize(captions) == reference


def test_bleu_by_hand() -> None:
    refs = [[("the", "cat", "is", "here")]]
    hyp = [("the", "cat", "was", "here")]
    bleu = bleu_scores(refs, hyp)
    # unigrams 3/4, bigrams 1/3 ("the cat"), trigrams 0/2: BLEU-3 and -4 vanish.
    assert bleu[0] == pytest.approx(0.75)
    assert bleu[1] == pytest.approx(math.sqrt(0.75 / 3))
    assert bleu[2] < 1e-4 and bleu[3] < 1e-4
    # Clipping: "the the the" matches "the" once; the closest reference length (3, not 6) sets
    # no brevity penalty.
    clipped = bleu_scores([[("the", "cat", "sat"), ("a", "b", "c", "d", "e", "f")]], [("the",) * 3])
    assert clipped[0] == pytest.approx(1 / 3)
    # Brevity: a 2-token candidate against a 4-token reference.
    short = bleu_scores([[("a", "b", "c", "d")]], [("a", "b")])
    assert short[0] == pytest.approx(math.exp(1 - 4 / 2))


def test_rouge_l_by_hand() -> None:
    # LCS("a b c d", "a c d e f") = 3: precision 3/4, recall 3/5.
    p, r = 3 / 4, 3 / 5
    expected = (1 + 1.2**2) * p * r / (r + 1.2**2 * p)
    assert rouge_l_score([[("a", "c", "d", "e", "f")]], [("a", "b", "c", "d")]) == pytest.approx(
        expected
    )
    # Best precision and best recall are taken over the references separately: "a b c" has
    # recall 1 on "a b" and precision 1 on "a ... h", so F = 1 though no reference gives it.
    refs = [[("a", "b"), ("a", "b", "c", "d", "e", "f", "g", "h")]]
    assert rouge_l_score(refs, [("a", "b", "c")]) == pytest.approx(1.0)


def test_cider_d_by_hand() -> None:
    # Two videos with disjoint words, each candidate equal to its one reference: every n-gram
    # weighs log(2), each order's cosine is 1, no length penalty, so CIDEr-D = 10.
    refs = [[("a", "red", "car", "drives")], [("two", "kids", "play", "ball")]]
    assert cider_d_score(refs, [refs[0][0], refs[1][0]]) == pytest.approx(10.0)
    # One video: every n-gram occurs in all (one) reference sets, idf 0, CIDEr-D 0.
    assert cider_d_score(refs[:1], [refs[0][0]]) == 0.0
    # The length penalty: one extra word drops the score below 10 by more than the n-grams do.
    longer = cider_d_score(refs, [refs[0][0] + ("fast",), refs[1][0]])
    assert 0 < longer < 10


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from("abcd"), max_size=12), st.lists(st.sampled_from("abcd"), max_size=12)
)
def test_lcs_length_equals_dynamic_programming(a: list[str], b: list[str]) -> None:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
            )
    assert lcs_length(a, b) == table[-1][-1] == lcs_length(b, a)


def test_scores_json_names_the_scale() -> None:
    references, predictions = caption_set(videos=5)
    payload = score_captions(references, predictions, backend="python").to_json()
    assert payload["meteor"] is None and payload["backend"] == "python"
    assert "0-1" in payload["scale"]
    assert set(payload) >= {"bleu_1", "bleu_4", "rouge_l", "cider", "videos", "tokenizer"}


def test_pairing_errors() -> None:
    refs = {"a": ["a man runs"], "b": ["a dog sits"]}
    with pytest.raises(InputError, match="1 video\\(s\\) have no prediction: 'b'"):
        score_captions(refs, {"a": "a man runs"}, backend="python")
    with pytest.raises(InputError, match="no references: 'c'"):
        score_captions(refs, {"a": "x", "b": "y", "c": "z"}, backend="python")
    with pytest.raises(InputError, match="'b' has no reference captions"):
        score_captions({"a": ["x"], "b": []}, {"a": "x", "b": "y"}, backend="python")
    with pytest.raises(InputError, match="no videos"):
        score_captions({}, {}, backend="python")


def test_without_java_auto_is_python_and_pycocoevalcap_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no java on it
    assert resolve_backend("auto") == "python"
    with pytest.raises(MissingResourceError, match="java on PATH"):
        resolve_backend("pycocoevalcap")
    references, predictions = caption_set(videos=5)
    assert score_captions(references, predictions).backend == "python"


@pytest.mark.shared
@needs_reference
def test_real_captions_score_as_pycocoevalcap(shared_benchmarks: Path) -> None:
    """MSR-VTT 1k-A (its first 500 videos): each video's caption against 5 captions of its
    category, scored by the
    Python route and by pycocoevalcap (PTB jar, Bleu, Rouge, Cider)."""
    import json

    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    path = shared_benchmarks / "msrvtt_1ka" / "msrvtt_test_1k.json"
    records = json.loads(path.read_text())[:500]
    by_category: dict[int, list[str]] = {}
    for record in records:
        by_category.setdefault(record["category"], []).append(record["caption"])
    rng = random.Random(0)
    references = {
        r["video_id"]: rng.sample(
            by_category[r["category"]], min(5, len(by_category[r["category"]]))
        )
        for r in records
    }
    predictions = {r["video_id"]: r["caption"] for r in records}
    with quiet_output():
        tokenizer = PTBTokenizer()
        gts = tokenizer.tokenize(
            {v: [{"caption": c} for c in refs] for v, refs in references.items()}
        )
        res = tokenizer.tokenize({v: [{"caption": c}] for v, c in predictions.items()})
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    expected = [*bleu, Rouge().compute_score(gts, res)[0], Cider().compute_score(gts, res)[0]]
    ours = score_captions(references, predictions, backend="python")
    for name, value in zip(METRICS, expected, strict=True):
        assert getattr(ours, name) == pytest.approx(float(value), abs=1e-9), name
