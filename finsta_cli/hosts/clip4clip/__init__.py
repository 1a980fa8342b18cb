"""The ``clip4clip`` host: open_clip CLIP towers with CLIP4Clip's meanP or seqTransf pooling.

CLIP4Clip (Luo et al., 2022) encodes each sampled frame with CLIP's image tower and pools the
frame embeddings into a video embedding, either by their mean (``meanP``, blind to frame order) or
through a small temporal Transformer with frame position embeddings whose output is added back to
the frame embeddings before the mean (``seqTransf``). Texts go through CLIP's text tower; the text
embedding is the projected feature of the end-of-text token.

The towers come from the optional ``open_clip_torch`` package (``pip install 'finsta[clip]'``),
built offline from its bundled architecture configs (``create_model(arch, pretrained=None)``: no
download); weights are read from a local file, or from an open_clip pretrained tag (``pretrained:
openai``) that open_clip's own download fetches only when the user allows downloads
(``--allow-download`` or ``FINSTA_ALLOW_DOWNLOAD=1``; otherwise exit 4), and that is then read as
a local file. Without weights the host is randomly initialised, which the tests use and which is
logged as "random weights" the first time such a host encodes anything.

The package, one concern a module:

- :mod:`~finsta_cli.hosts.clip4clip.host`: the config, the model (:class:`Clip4ClipHost`), its
  features and :func:`build_clip4clip`;
- :mod:`~finsta_cli.hosts.clip4clip.tokens`: CLIP's tokenizer replayed with character offsets;
- :mod:`~finsta_cli.hosts.clip4clip.weights`: weights files read safely, their key names
  normalised;
- :mod:`~finsta_cli.hosts.clip4clip.arch`: the open_clip architecture a host is built as (checked,
  inferred from a weights file, or given by a pretrained tag).
"""

from finsta_cli.hosts.clip4clip.host import Clip4ClipConfig, Clip4ClipHost, build_clip4clip

__all__ = ["Clip4ClipConfig", "Clip4ClipHost", "build_clip4clip"]
