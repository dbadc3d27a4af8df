"""The blocked terms of every word list of the content filter (models_layer.moderation: the settings'
default list and the operators' word-list policies) found in a text; dataset cleaning drops such texts."""

from models_layer.moderation.selectors import blocked_terms

__all__ = ["blocked_terms"]
