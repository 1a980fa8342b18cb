"""The synth dataset: scene plans, rendering, captions, ground-truth graphs, checks, and the detector trained on it."""
