from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "tools_layer.training"
    label = "training"
    verbose_name = "Training"
