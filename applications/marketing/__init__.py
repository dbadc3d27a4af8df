"""Marketing copy for content creators: templates, brand voices, generations."""
