"""Infrastructure layer: object storage and compute (GPU workers, queues, the Job and its lifecycle)."""
