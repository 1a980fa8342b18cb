"""Evaluation tasks: each module reads gold and predictions and returns its standard metrics."""
