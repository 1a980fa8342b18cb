"""Finsta post-training of a host: data and anchors, the alignment model, losses, the trainer."""
