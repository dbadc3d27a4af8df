"""The generator registry: generators, their versions, model cards and stages."""
