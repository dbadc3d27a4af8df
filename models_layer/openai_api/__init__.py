"""The platform's own OpenAI-compatible API at /v1/: models, chat completions and completions."""
