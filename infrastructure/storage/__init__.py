"""Object storage: one interface over a local directory or any S3 server (through the minio SDK)."""
