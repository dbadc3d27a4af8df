"""Training and evaluation jobs on GPU workers."""
