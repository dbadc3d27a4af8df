"""Usage metering and quotas: generation requests and tokens per user and API key per day."""
