"""The built-in templates' prompts as plain sentences: with "Product: … Audience: … Tone: …" labels the
small built-in model copied the labels into the copy. A prompt an admin has changed is left alone."""
from django.db import migrations

OLD = "Product: {product}. Audience: {audience}. Tone: {tone}. {voice}{keywords}Write in {language}."
NEW = "The product: {product}. Write for {audience}, in a {tone} tone, in {language}. {voice}{keywords}"


def refresh(apps, schema_editor):
    Template = apps.get_model("marketing", "Template")
    for template in Template.objects.filter(prompt__endswith=OLD):
        template.prompt = template.prompt[: -len(OLD)] + NEW
        template.save(update_fields=["prompt"])


def restore(apps, schema_editor):
    Template = apps.get_model("marketing", "Template")
    for template in Template.objects.filter(prompt__endswith=NEW):
        template.prompt = template.prompt[: -len(NEW)] + OLD
        template.save(update_fields=["prompt"])


class Migration(migrations.Migration):
    dependencies = [("marketing", "0002_seed_templates")]
    operations = [migrations.RunPython(refresh, restore)]
