"""Captioning metrics as coco-caption computes them: BLEU-1..4, METEOR 1.5, ROUGE-L and CIDEr-D,
through pycocoevalcap (the reference; it needs Java) or this module's pure-Python route.

The pure-Python route is written from the metrics' definitions, following coco-caption's choices
where the papers leave room: BLEU is corpus-level with each video's closest reference length
(ties to the shorter) and coco-caption's smoothing constants; ROUGE-L takes the best precision and
the best recall over a video's references separately (beta 1.2); CIDEr-D uses n = 1..4, sigma 6,
clipped candidate weights, document frequencies over the reference sets, a length penalty on the
difference in bigram counts, and the factor 10. Given the same tokens it returns pycocoevalcap's
numbers (tests/captioning/test_metrics.py checks them to 1e-9); its tokenizer
(:mod:`finsta_cli.captioning.ptb`) only approximates the Stanford PTBTokenizer. METEOR has no
Python route: without Java it is None, never another metric in its place.

All scores are on pycocoevalcap's scale: BLEU, METEOR and ROUGE-L in [0, 1], CIDEr-D as it
returns it (about 0 to 10). Papers print them x100.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import mul
from pathlib import Path
from typing import Any, Literal

from finsta_cli.captioning.ptb import DROPPED
from finsta_cli.errors import InputError, MissingResourceError
from finsta_cli.io.progress import get_logger

log = get_logger("eval")

CaptionBackend = Literal["auto", "pycocoevalcap", "python"]
CAPTION_BACKENDS: tuple[CaptionBackend, ...] = ("auto", "pycocoevalcap", "python")

PTB_TOKENIZER = "ptb (pycocoevalcap, Stanford CoreNLP 3.4.1)"
PYTHON_TOKENIZER = "python ptb approximation (finsta_cli.captioning.ptb)"
METEOR_IMPL = "meteor-1.5 (pycocoevalcap)"
SCALE = "fraction: BLEU, METEOR, ROUGE-L in 0-1, CIDEr-D as pycocoevalcap (papers print x100)"

MAX_N = 4  # BLEU-1..4 and CIDEr-D's n-gram orders
CIDER_SIGMA = 6.0
ROUGE_BETA = 1.2
# coco-caption's BLEU constants: keep 0/0 precisions at 0 and avoid a division by zero.
_TINY = 1e-15
_SMALL = 1e-9

Tokens = tuple[str, ...]

# Measured with benchmarks/caption_metrics.py --agreement (docs/datasets.md "Captioning").
PYTHON_ROUTE_WARNING = (
    "caption metrics on the pure-Python route (%s not found): METEOR is unavailable (needs "
    "Java); BLEU, ROUGE-L and CIDEr-D use an approximation of the PTB tokenizer, which split "
    "all but 9 of 56,668 real English texts as PTB does; on caption sets built from them no "
    "metric moved by more than 0.00002 (docs/datasets.md, Captioning)"
)


@dataclass(frozen=True)
class CaptionScores:
    """The coco-caption metrics of a set of predicted captions (pycocoevalcap's scale)."""

    bleu_1: float
    bleu_2: float
    bleu_3: float
    bleu_4: float
    meteor: float | None  # None when METEOR is unavailable (no Java); never substituted
    rouge_l: float
    cider: float
    videos: int
    tokenizer: str
    meteor_impl: str | None
    backend: str  # "pycocoevalcap" or "python"

    def to_json(self) -> dict[str, Any]:
        """The scores for metrics.json, with the scale they are on."""
        return {
            "bleu_1": self.bleu_1,
            "bleu_2": self.bleu_2,
            "bleu_3": self.bleu_3,
            "bleu_4": self.bleu_4,
            "meteor": self.meteor,
            "rouge_l": self.rouge_l,
            "cider": self.cider,
            "videos": self.videos,
            "tokenizer": self.tokenizer,
            "meteor_impl": self.meteor_impl,
            "backend": self.backend,
            "scale": SCALE,
        }


def java_available() -> bool:
    """Whether a ``java`` executable is on PATH (pycocoevalcap's tokenizer and METEOR run it)."""
    return shutil.which("java") is not None


def pycocoevalcap_available() -> bool:
    """Whether pycocoevalcap (the ``finsta[captioning]`` extra) can be imported."""
    return importlib.util.find_spec("pycocoevalcap") is not None


def resolve_backend(backend: CaptionBackend) -> Literal["pycocoevalcap", "python"]:
    """The route ``backend`` means here: ``auto`` is pycocoevalcap when it and Java are both
    present, else python; asking for pycocoevalcap without them is a missing resource."""
    if backend == "python":
        return "python"
    missing = [
        what
        for what, present in (
            ("pycocoevalcap (pip install 'finsta[captioning]')", pycocoevalcap_available()),
            ("java on PATH (e.g. Debian's default-jre-headless)", java_available()),
        )
        if not present
    ]
    if not missing:
        return "pycocoevalcap"
    if backend == "auto":
        return "python"
    raise MissingResourceError(
        "caption metrics pycocoevalcap need " + " and ".join(missing),
        hint="or use the pure-Python route (--caption-metrics python): no METEOR, and its "
        "tokenizer only approximates PTB's",
    )


def score_captions(
    references: Mapping[str, Sequence[str]],
    predictions: Mapping[str, str],
    *,
    backend: CaptionBackend = "auto",
) -> CaptionScores:
    """Score one predicted caption per video against that video's reference captions.

    ``references`` and ``predictions`` must have the same video ids and every video at least one
    reference (reading files, :mod:`finsta_cli.captioning.evaluate` reports what does not match
    with file and line; here a mismatch is an :class:`InputError`). ``auto`` without Java or
    pycocoevalcap scores on the Python route and logs :data:`PYTHON_ROUTE_WARNING`.
    """
    _check_pairing(references, predictions)
    videos = list(references)
    route = resolve_backend(backend)
    if route == "pycocoevalcap":
        return _score_pycocoevalcap(videos, references, predictions)
    if backend == "auto":
        missing = "java" if pycocoevalcap_available() else "pycocoevalcap"
        log.warning(PYTHON_ROUTE_WARNING, missing)
    # Imported here: compiling its patterns would slow every command's start (eval's options
    # import this module).
    from finsta_cli.captioning.ptb import tokenize

    refs = [[tuple(tokenize(text)) for text in references[v]] for v in videos]
    hyps = [tuple(tokenize(predictions[v])) for v in videos]
    ref_orders = _orders_of_refs(refs)
    hyp_orders = [ngram_orders(hyp) for hyp in hyps]
    bleu = _bleu(refs, hyps, ref_orders, hyp_orders)
    return CaptionScores(
        bleu_1=bleu[0],
        bleu_2=bleu[1],
        bleu_3=bleu[2],
        bleu_4=bleu[3],
        meteor=None,
        rouge_l=rouge_l_score(refs, hyps),
        cider=_cider_d(ref_orders, hyp_orders),
        videos=len(videos),
        tokenizer=PYTHON_TOKENIZER,
        meteor_impl=None,
        backend="python",
    )


def _check_pairing(references: Mapping[str, Sequence[str]], predictions: Mapping[str, str]) -> None:
    if not references:
        raise InputError("no videos to score: the references are empty")
    missing = [v for v in references if v not in predictions]
    unknown = [v for v in predictions if v not in references]
    for what, ids in (("no prediction", missing), ("no references", unknown)):
        if ids:
            shown = ", ".join(map(repr, ids[:5])) + (" ..." if len(ids) > 5 else "")
            raise InputError(f"{len(ids)} video(s) have {what}: {shown}")
    empty = [v for v, refs in references.items() if not refs]
    if empty:
        raise InputError(f"video {empty[0]!r} has no reference captions")


# -- the pure-Python metrics, on token tuples ---------------------------------------------------


NgramOrders = list[Counter[Tokens]]
"""A sentence's n-gram counts, one Counter per order: ``orders[k]`` counts its (k+1)-grams."""


def ngram_orders(tokens: Tokens, n: int = MAX_N) -> NgramOrders:
    """How often each 1..n-gram occurs in ``tokens``, by order."""
    return [Counter(zip(*(tokens[i:] for i in range(k)), strict=False)) for k in range(1, n + 1)]


def bleu_scores(refs: Sequence[Sequence[Tokens]], hyps: Sequence[Tokens]) -> list[float]:
    """Corpus BLEU-1..4 (coco-caption's: clipped n-gram matches and candidate n-grams summed over
    the videos, a brevity penalty from each video's closest reference length)."""
    return _bleu(refs, hyps, _orders_of_refs(refs), [ngram_orders(hyp) for hyp in hyps])


def _bleu(
    refs: Sequence[Sequence[Tokens]],
    hyps: Sequence[Tokens],
    ref_orders: Sequence[Sequence[NgramOrders]],
    hyp_orders: Sequence[NgramOrders],
) -> list[float]:
    # The loops over n-grams are map() calls: 10k videos x 20 references is ~8M n-grams.
    correct = [0] * MAX_N
    guess = [0] * MAX_N
    test_len = 0
    ref_len = 0
    for video_refs, hyp, video_orders, orders in zip(
        refs, hyps, ref_orders, hyp_orders, strict=True
    ):
        for k in range(MAX_N):
            grams = list(orders[k])
            in_refs = [list(map(ref[k].get, grams, repeat(0))) for ref in video_orders]
            # A candidate n-gram counts as often as it occurs in one reference at most.
            clip = in_refs[0] if len(in_refs) == 1 else map(max, *in_refs)
            correct[k] += sum(map(min, orders[k].values(), clip))
            guess[k] += max(0, len(hyp) - k)
        test_len += len(hyp)
        ref_len += min((abs(len(ref) - len(hyp)), len(ref)) for ref in video_refs)[1]
    scores = []
    product = 1.0
    for k in range(MAX_N):
        product *= (correct[k] + _TINY) / (guess[k] + _SMALL)
        scores.append(product ** (1.0 / (k + 1)))
    ratio = (test_len + _TINY) / (ref_len + _SMALL)
    if ratio < 1:
        scores = [score * math.exp(1 - 1 / ratio) for score in scores]
    return scores


def _orders_of_refs(refs: Sequence[Sequence[Tokens]]) -> list[list[NgramOrders]]:
    return [[ngram_orders(ref) for ref in video_refs] for video_refs in refs]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences.

    Bit-parallel (Allison and Dix 1986): bit i of ``row`` stays set while ``a[i]`` is not yet in
    the best match, so the LCS is the number of cleared bits once all of ``b`` is read. Linear in
    ``len(b)`` with integer operations on ``len(a)`` bits.
    """
    positions: dict[str, int] = {}
    for i, token in enumerate(a):
        positions[token] = positions.get(token, 0) | (1 << i)
    full = (1 << len(a)) - 1
    row = full
    for token in b:
        match = row & positions.get(token, 0)
        row = ((row + match) | (row - match)) & full
    return len(a) - row.bit_count()


def rouge_l_score(refs: Sequence[Sequence[Tokens]], hyps: Sequence[Tokens]) -> float:
    """Mean ROUGE-L F (beta 1.2) over the videos, from each video's best precision and best
    recall over its references (as coco-caption takes them)."""
    beta2 = ROUGE_BETA**2
    total = 0.0
    for video_refs, hyp in zip(refs, hyps, strict=True):
        # coco-caption splits the joined tokens on " ": no tokens read as one empty token.
        cand = hyp or ("",)
        best_precision = best_recall = 0.0
        for ref in video_refs:
            ref = ref or ("",)
            common = lcs_length(cand, ref)
            best_precision = max(best_precision, common / len(cand))
            best_recall = max(best_recall, common / len(ref))
        if best_precision and best_recall:
            total += (
                (1 + beta2) * best_precision * best_recall / (best_recall + beta2 * best_precision)
            )
    return total / len(hyps)


def cider_d_score(refs: Sequence[Sequence[Tokens]], hyps: Sequence[Tokens]) -> float:
    """Mean CIDEr-D over the videos (coco-caption's: tf-idf n-gram vectors with document
    frequencies over the videos' reference sets, candidate weights clipped at the reference's,
    a Gaussian penalty (sigma 6) on the difference in bigram counts, averaged over n = 1..4 and
    the references, times 10)."""
    return _cider_d(_orders_of_refs(refs), [ngram_orders(hyp) for hyp in hyps])


def _cider_d(
    ref_orders: Sequence[Sequence[NgramOrders]], hyp_orders: Sequence[NgramOrders]
) -> float:
    # The loops over n-grams are map() calls, in coco-caption's order of summation.
    document_frequency: Counter[Tokens] = Counter()
    for video in ref_orders:
        document_frequency.update(set().union(*(order for ref in video for order in ref)))
    log_videos = math.log(float(len(ref_orders)))
    # An n-gram's idf; one no reference has (document frequency 0) weighs log_videos.
    idf = {g: log_videos - math.log(max(1.0, df)) for g, df in document_frequency.items()}
    total = 0.0
    for video_refs, hyp in zip(ref_orders, hyp_orders, strict=True):
        grams = [list(order) for order in hyp]
        hyp_idf = [list(map(idf.get, order, repeat(log_videos))) for order in grams]
        hyp_weights = [list(map(mul, hyp[k].values(), hyp_idf[k])) for k in range(MAX_N)]
        hyp_norm = [math.sqrt(sum(map(mul, w, w))) for w in hyp_weights]
        hyp_len = sum(hyp[1].values())  # coco-caption's length: the bigram count
        summed = [0.0] * MAX_N
        for ref in video_refs:
            penalty = math.exp(-((hyp_len - sum(ref[1].values())) ** 2) / (2 * CIDER_SIGMA**2))
            for k in range(MAX_N):
                weights = list(map(mul, ref[k].values(), map(idf.__getitem__, ref[k])))
                ref_norm = math.sqrt(sum(map(mul, weights, weights)))
                ref_weights = list(map(mul, map(ref[k].get, grams[k], repeat(0)), hyp_idf[k]))
                value = sum(map(mul, map(min, hyp_weights[k], ref_weights), ref_weights))
                if hyp_norm[k] != 0 and ref_norm != 0:
                    value /= hyp_norm[k] * ref_norm
                summed[k] += value * penalty
        total += sum(summed) / MAX_N / len(video_refs) * 10.0
    return total / len(hyp_orders)


# -- the pycocoevalcap route ---------------------------------------------------------------------


def _score_pycocoevalcap(
    videos: list[str],
    references: Mapping[str, Sequence[str]],
    predictions: Mapping[str, str],
) -> CaptionScores:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge

    with quiet_output() as noise:
        try:
            gts = ptb_tokenize({v: [_one_line(c) for c in references[v]] for v in videos})
            res = ptb_tokenize({v: [_one_line(predictions[v])] for v in videos})
            bleu, _ = Bleu(MAX_N).compute_score(gts, res, verbose=0)
            meteor, _ = Meteor().compute_score(gts, res)
            rouge, _ = Rouge().compute_score(gts, res)
            cider, _ = Cider().compute_score(gts, res)
        except (OSError, ValueError, AssertionError) as error:
            raise MissingResourceError(
                f"pycocoevalcap failed: {error!r}; its output: {noise.read()[-500:]!r}",
                hint="it runs java; --caption-metrics python scores without it",
            ) from error
    return CaptionScores(
        bleu_1=float(bleu[0]),
        bleu_2=float(bleu[1]),
        bleu_3=float(bleu[2]),
        bleu_4=float(bleu[3]),
        meteor=float(meteor),
        rouge_l=float(rouge),
        cider=float(cider),
        videos=len(videos),
        tokenizer=PTB_TOKENIZER,
        meteor_impl=METEOR_IMPL,
        backend="pycocoevalcap",
    )


def ptb_tokenize(captions: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Each video's captions through Stanford PTBTokenizer 3.4.1 (the jar pycocoevalcap ships,
    with its ``-preserveLines -lowerCase``) and coco-caption's punctuation tokens removed:
    pycocoevalcap's ``PTBTokenizer.tokenize``, except that the captions go to the JVM through a
    file in the system's temporary folder. pycocoevalcap writes that file next to its jar, so
    scoring failed wherever the installed package is read-only (a system or shared site-packages).

    Captions must be one line each (:func:`_one_line`). Raises OSError when java cannot run and
    ValueError when the tokenizer does not answer one line per caption.
    """
    import subprocess

    owners = [video for video, texts in captions.items() for _ in texts]
    lines = [text for texts in captions.values() for text in texts]
    jar = _pycocoevalcap_dir() / "tokenizer" / "stanford-corenlp-3.4.1.jar"
    with tempfile.TemporaryDirectory(prefix="finsta-ptb-") as work:
        source = Path(work) / "captions.txt"
        source.write_text("\n".join(lines), encoding="utf-8")
        done = subprocess.run(
            ["java", "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer",
             "-preserveLines", "-lowerCase", str(source)],
            capture_output=True, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise OSError(f"PTBTokenizer exited {done.returncode}: {done.stderr.decode()[-300:]}")
    answered = done.stdout.decode("utf-8").split("\n")
    if len(answered) < len(lines) or any(line.strip() for line in answered[len(lines) :]):
        raise ValueError(f"PTBTokenizer gave {len(answered)} lines for {len(lines)} captions")
    out: dict[str, list[str]] = {video: [] for video in captions}
    for video, line in zip(owners, answered, strict=False):
        out[video].append(" ".join(w for w in line.rstrip().split(" ") if w not in DROPPED))
    return out


def _pycocoevalcap_dir() -> Path:
    """The folder pycocoevalcap is installed in (a namespace package: no ``__file__``)."""
    spec = importlib.util.find_spec("pycocoevalcap")
    if spec is None or not spec.submodule_search_locations:
        raise OSError("pycocoevalcap is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _one_line(text: str) -> str:
    # The tokenizer's JVM reads one caption a line and also breaks lines at \r, \u2028 and the
    # like, which would shift every later caption onto the wrong video.
    return " ".join(text.split())


class _Captured:
    def __init__(self, file: Any) -> None:
        self._file = file

    def read(self) -> str:
        self._file.flush()
        self._file.seek(0)
        return str(self._file.read().decode(errors="replace"))


@contextlib.contextmanager
def quiet_output() -> Iterator[_Captured]:
    """Send what pycocoevalcap and the JVMs it starts print (to stdout and stderr, at the file
    descriptor level, so child processes too) to a temporary file: ``--json`` stdout stays JSON."""
    import sys

    with tempfile.TemporaryFile() as sink:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            with (
                contextlib.redirect_stdout(_TextSink(sink)),
                contextlib.redirect_stderr(_TextSink(sink)),
            ):
                yield _Captured(sink)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


class _TextSink:
    """A text stream writing into a binary file (what ``print`` inside pycocoevalcap sees)."""

    def __init__(self, file: Any) -> None:
        self._file = file

    def write(self, text: str) -> int:
        self._file.write(text.encode(errors="replace"))
        return len(text)

    def flush(self) -> None:
        self._file.flush()
