"""The synth dataset: scene plans, rendering, captions, ground-truth graphs and checks.

The detector trained on synth footage (``synth.detector``) lives here too.
"""
