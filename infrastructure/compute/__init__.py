"""Compute: the Job every piece of long work runs as, its Celery lifecycle, and (later) the worker registry."""
