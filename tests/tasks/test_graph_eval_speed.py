"""``eval --with-graphs`` made faster and unchanged: the parser's fast path (spaCy's lemmatizer and
attribute ruler memoised) gives the TSGs of the whole pipeline; the fused text embeddings kept
by text, and the TSGs of a chunk converted as one batch, give the metrics and predictions of
embedding every text each time it comes with a graph converted per text; parses kept in the
parse cache give a second run the first run's results without parsing."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from finsta_cli.datasets import load_task_dataset
from finsta_cli.graph import tsg_to_data
from finsta_cli.tasks.graph_eval import (
    PARSE_CACHE,
    PARSE_CACHE_MB_ENV,
    FusionEmbedder,
    caption_graphs,
    load_fusion_model,
    parser_fingerprint,
    video_graphs,
)
from finsta_cli.tasks.host_eval import _statement, evaluate_videoqa
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)


class PreviousEmbedder(FusionEmbedder):
    """The text side as it was: each call parses its new texts with the whole spaCy pipeline
    (``parse_doc``) and embeds every text it is given, repeats included, each TSG converted to
    its own ``Data`` and the chunk's collated with ``Batch.from_data_list``."""

    def _parse(self, texts: Sequence[str]) -> None:
        from finsta_cli.text.conventions import load_conventions
        from finsta_cli.text.parser import bound_text, load_nlp, parse_doc

        todo = [t for t in dict.fromkeys(texts) if t not in self.text_graphs]
        nlp, conventions = load_nlp(self.spacy_model), load_conventions()
        docs = nlp.pipe(bound_text(t, 10_000) for t in todo)
        for n, (text, doc) in enumerate(zip(todo, docs, strict=True)):
            self.text_graphs[text] = parse_doc(doc, f"eval-{self.parsed + n}", conventions)
        self.parsed += len(todo)

    @torch.no_grad()
    def text_embeddings(self, texts: Sequence[str]) -> Tensor:
        from torch_geometric.data import Batch

        self._parse(texts)
        out = []
        for start in range(0, len(texts), self.text_batch):
            chunk = list(texts[start : start + self.text_batch])
            features = self.host.encode_text(chunk)
            vocabs = (self.checkpoint.node_vocab, self.checkpoint.edge_vocab)
            tsgs = [self._text_graph(text) for text in chunk]
            graphs = [
                None if t is None else tsg_to_data(t, *vocabs, self.checkpoint.options)
                for t in tsgs
            ]
            rows = [i for i, g in enumerate(graphs) if g is not None]
            batch = index = None
            if rows:
                batch = Batch.from_data_list([graphs[i] for i in rows])
                index = torch.tensor(rows)
            fused = self.model.fused_text_embeddings(features, batch, index)
            out.append(F.normalize(fused, dim=-1))
        return torch.cat(out)


def _embedders(
    align_set: AlignSet, checkpoint: Path, split: str, parse_cache: Path | None = None
) -> tuple[FusionEmbedder, FusionEmbedder]:
    dataset = load_task_dataset(align_set.data, split=split)
    made = []
    for kind in (FusionEmbedder, PreviousEmbedder):
        fusion = load_fusion_model(checkpoint)
        # No --tsg: every caption, option statement and candidate answer is parsed here.
        kept = parse_cache if kind is FusionEmbedder else None
        embedder = kind(fusion, "cpu", None, text_batch=16, parse_cache=kept)
        embedder.add_videos(video_graphs(list(dataset.videos), align_set.dsg, fusion))
        made.append(embedder)
    return made[0], made[1]


def test_the_fast_parse_gives_the_whole_pipelines_tsgs(
    align_set: AlignSet, fusion_checkpoint: Path
) -> None:
    dataset = load_task_dataset(align_set.data, split="val")
    answers = sorted({q.answer for q in dataset.qa_open})
    texts = [_statement(q.question, o) for q in dataset.qa_mc for o in q.options or ()]
    texts += [_statement(q.question, a) for q in dataset.qa_open for a in answers]
    texts += [c.text for c in dataset.captions]
    new, previous = _embedders(align_set, fusion_checkpoint, "val")
    new._parse(texts)
    previous._parse(texts)
    assert len(new.text_graphs) == len(set(texts)) > 20
    for text in set(texts):
        got, want = new.text_graphs[text], previous.text_graphs[text]
        assert got is not None and want is not None
        assert got.model_dump() == want.model_dump()
    # The captions' graphs agree with parse-text's output for them, as the --tsg path reads.
    written = caption_graphs([dataset], align_set.tsg)
    for caption in dataset.captions:
        tsg = written[caption.text]
        assert tsg is not None
        assert new.text_graphs[caption.text].nodes == tsg.nodes  # type: ignore[union-attr]


def test_videoqa_with_graphs_is_unchanged(align_set: AlignSet, fusion_checkpoint: Path) -> None:
    dataset = load_task_dataset(align_set.data, split="val")
    new, previous = _embedders(align_set, fusion_checkpoint, "val")
    got = evaluate_videoqa(new, dataset, cache=align_set.cache, quiet=True)
    want = evaluate_videoqa(previous, dataset, cache=align_set.cache, quiet=True)
    assert got.metrics == want.metrics and got.predictions == want.predictions
    assert got.metrics["open_count"] > 0 and got.metrics["mc_count"] > 0
    assert new.counts.to_json() == previous.counts.to_json()
    # Each distinct statement went through the host and the graph encoder once.
    assert len(new.text_memo) == len(new.text_graphs) == new.counts.to_json()["graphs_texts"]
    # A text asked again (here: every caption twice, in another order) is read from the memo.
    texts = [c.text for c in dataset.captions]
    again = texts[::-1] + texts
    assert torch.allclose(new.text_embeddings(again), previous.text_embeddings(again), atol=1e-6)


def test_a_second_run_reads_the_kept_parses(
    align_set: AlignSet, fusion_checkpoint: Path, tmp_path: Path
) -> None:
    dataset = load_task_dataset(align_set.data, split="val")
    kept = tmp_path / PARSE_CACHE
    first, previous = _embedders(align_set, fusion_checkpoint, "val", parse_cache=kept)
    want = evaluate_videoqa(previous, dataset, cache=align_set.cache, quiet=True)
    got = evaluate_videoqa(first, dataset, cache=align_set.cache, quiet=True)
    assert got.metrics == want.metrics and got.predictions == want.predictions
    assert first.parsed == len(first.text_graphs) > 20
    folder = kept / parser_fingerprint()
    assert folder.is_dir() and list(folder.glob("*.json"))
    second, _ = _embedders(align_set, fusion_checkpoint, "val", parse_cache=kept)
    again = evaluate_videoqa(second, dataset, cache=align_set.cache, quiet=True)
    assert second.parsed == 0  # every statement's TSG came from the first run's files
    assert again.metrics == want.metrics and again.predictions == want.predictions
    assert second.counts.to_json() == first.counts.to_json()
    for text, tsg in first.text_graphs.items():
        assert second.text_graphs[text] == tsg
    # A truncated file is a miss: its texts are parsed again, with the same results.
    damaged = sorted(folder.glob("*.json"))[0]
    data = damaged.read_bytes()
    lost = len(json.loads(data)["texts"])
    damaged.write_bytes(data[: len(data) // 2])
    third, _ = _embedders(align_set, fusion_checkpoint, "val", parse_cache=kept)
    third_result = evaluate_videoqa(third, dataset, cache=align_set.cache, quiet=True)
    assert third.parsed == lost
    assert third_result.metrics == want.metrics and third_result.predictions == want.predictions


def test_no_parses_are_kept_with_a_bound_of_zero(
    align_set: AlignSet, fusion_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PARSE_CACHE_MB_ENV, "0")
    dataset = load_task_dataset(align_set.data, split="val")
    kept = tmp_path / PARSE_CACHE
    for _ in range(2):
        embedder, _ = _embedders(align_set, fusion_checkpoint, "val", parse_cache=kept)
        evaluate_videoqa(embedder, dataset, cache=align_set.cache, quiet=True)
        assert embedder.parsed == len(embedder.text_graphs) > 20  # nothing read: all parsed
    assert not kept.exists()
