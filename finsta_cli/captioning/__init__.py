"""Video captioning: the caption head trained on a host's frame features, its decoding, and the
coco-caption metrics (see docs/datasets.md, "Captioning")."""
