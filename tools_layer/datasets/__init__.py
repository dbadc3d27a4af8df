"""Datasets: items in object storage, imports as jobs, immutable versions."""
