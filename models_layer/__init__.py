"""Model layer: the generator registry and the inference runtime."""
