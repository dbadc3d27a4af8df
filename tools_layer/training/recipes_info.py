"""The recipes as the submit form and the API describe them: hyperparameters, defaults, limits, help."""

from rest_framework import serializers

from tools_layer.training.serializers import HYPERPARAMETERS

_TYPES = [
    (serializers.BooleanField, "boolean"),
    (serializers.ChoiceField, "choice"),
    (serializers.IntegerField, "integer"),
    (serializers.FloatField, "number"),
    (serializers.CharField, "string"),
]


def _field(name: str, field) -> dict:
    kind = next((label for cls, label in _TYPES if isinstance(field, cls)), "string")
    choices = list(field.choices) if kind == "choice" else None
    return {
        "name": name,
        "type": kind,
        "default": field.default,
        "help_text": str(field.help_text or ""),
        "min_value": getattr(field, "min_value", None),
        "max_value": getattr(field, "max_value", None),
        "choices": choices,
    }


def recipes() -> list[dict]:
    from tools_layer.training.services import RECIPE_KINDS

    return [
        {
            "name": name,
            "dataset_kind": RECIPE_KINDS[name]["dataset"],
            "generator_kind": RECIPE_KINDS[name]["generator"],
            "needs_base": RECIPE_KINDS[name]["needs_base"],
            "hyperparameters": [_field(field_name, field) for field_name, field in serializer().fields.items()],
        }
        for name, serializer in HYPERPARAMETERS.items()
    ]
