"""Tools layer: datasets, data labeling, training and evaluation."""
