"""Video captioning: the coco-caption metrics and the gold and prediction files they score, and
the caption head trained on a host's frame features with its decoding."""
