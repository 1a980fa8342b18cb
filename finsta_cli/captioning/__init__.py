"""Video captioning: the coco-caption metrics and the gold and prediction files they score."""
