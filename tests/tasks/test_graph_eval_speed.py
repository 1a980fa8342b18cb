"""``eval --with-graphs`` made faster and unchanged: the parser's fast path (spaCy's lemmatizer and
attribute ruler memoised) gives the TSGs of the whole pipeline, and the fused text embeddings kept
by text give the metrics and predictions of embedding every text each time it comes."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from finsta_cli.datasets import load_task_dataset
from finsta_cli.tasks.graph_eval import (
    FusionEmbedder,
    caption_graphs,
    load_fusion_model,
    video_graphs,
)
from finsta_cli.tasks.host_eval import _statement, evaluate_videoqa
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)


class PreviousEmbedder(FusionEmbedder):
    """The text side as it was: each call parses its new texts with the whole spaCy pipeline
    (``parse_doc``) and embeds every text it is given, repeats included."""

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
            graphs = [self._tsg_data(text) for text in chunk]
            rows = [i for i, g in enumerate(graphs) if g is not None]
            batch = index = None
            if rows:
                batch = Batch.from_data_list([graphs[i] for i in rows])
                index = torch.tensor(rows)
            fused = self.model.fused_text_embeddings(features, batch, index)
            out.append(F.normalize(fused, dim=-1))
        return torch.cat(out)


def _embedders(
    align_set: AlignSet, checkpoint: Path, split: str
) -> tuple[FusionEmbedder, FusionEmbedder]:
    dataset = load_task_dataset(align_set.data, split=split)
    made = []
    for kind in (FusionEmbedder, PreviousEmbedder):
        fusion = load_fusion_model(checkpoint)
        # No --tsg: every caption, option statement and candidate answer is parsed here.
        embedder = kind(fusion, "cpu", None, text_batch=16)
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
