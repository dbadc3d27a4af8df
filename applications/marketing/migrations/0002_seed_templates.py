"""The built-in templates, as data (admins edit them afterwards)."""
from django.db import migrations

COMMON = "Product: {product}. Audience: {audience}. Tone: {tone}. {voice}{keywords}Write in {language}."

TEMPLATES = [
    ("product-description", "Product description", "A short paragraph that sells the product's benefits.",
     [{"name": "description", "label": "Description", "min_chars": 80, "max_chars": 400}],
     "Write a product description that names one clear benefit and one concrete detail. " + COMMON),
    ("ad-headline", "Ad headline", "A search or social ad headline.",
     [{"name": "headline", "label": "Headline", "min_chars": 15, "max_chars": 60}],
     "Write one punchy ad headline. " + COMMON),
    ("social-post", "Social media post", "A post for social media, with a call to action.",
     [{"name": "post", "label": "Post", "min_chars": 60, "max_chars": 280}],
     "Write one social media post that ends with a call to action. " + COMMON),
    ("email-subject", "Email subject line", "A subject line people open.",
     [{"name": "subject", "label": "Subject", "min_chars": 15, "max_chars": 70}],
     "Write one email subject line that makes the reader want to open it. " + COMMON),
    ("slogan", "Slogan", "A short, memorable slogan.",
     [{"name": "slogan", "label": "Slogan", "min_chars": 10, "max_chars": 50}],
     "Write one short, memorable slogan. " + COMMON),
    ("landing-hero", "Landing-page hero", "The headline, subheadline and button of a landing page.",
     [{"name": "headline", "label": "Headline", "min_chars": 15, "max_chars": 60},
      {"name": "subheadline", "label": "Subheadline", "min_chars": 30, "max_chars": 140},
      {"name": "cta", "label": "Button", "min_chars": 5, "max_chars": 25}],
     "Write the hero section of a landing page: a headline, a subheadline that explains the benefit, and a button label. " + COMMON),
    ("aida", "AIDA", "Attention, Interest, Desire, Action.",
     [{"name": "attention", "label": "Attention", "min_chars": 15, "max_chars": 90},
      {"name": "interest", "label": "Interest", "min_chars": 30, "max_chars": 160},
      {"name": "desire", "label": "Desire", "min_chars": 30, "max_chars": 160},
      {"name": "action", "label": "Action", "min_chars": 10, "max_chars": 80}],
     "Write copy in the AIDA framework: grab attention, build interest, create desire, ask for action. " + COMMON),
    ("pas", "PAS", "Problem, Agitate, Solution.",
     [{"name": "problem", "label": "Problem", "min_chars": 20, "max_chars": 140},
      {"name": "agitate", "label": "Agitate", "min_chars": 20, "max_chars": 160},
      {"name": "solution", "label": "Solution", "min_chars": 30, "max_chars": 180}],
     "Write copy in the PAS framework: name the reader's problem, agitate it, present the product as the solution. " + COMMON),
]


def seed(apps, schema_editor):
    Template = apps.get_model("marketing", "Template")
    for slug, name, description, fields, prompt in TEMPLATES:
        Template.objects.update_or_create(slug=slug, defaults={
            "name": name, "description": description, "fields": fields, "prompt": prompt, "active": True})


def unseed(apps, schema_editor):
    apps.get_model("marketing", "Template").objects.filter(slug__in=[t[0] for t in TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("marketing", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
