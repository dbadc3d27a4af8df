"""A generation's variants as CSV or Markdown; each export says that the copy is AI-generated."""
import csv
import io

from applications.marketing.models import Generation

DISCLOSURE = "AI-generated"


def _disclosure(generation: Generation) -> str:
    return f"{DISCLOSURE} by {generation.generator or 'a text generator'} on the AIGC Platform; review before publishing."


def as_csv(generation: Generation) -> tuple[str, str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["index", "text", "passed", "favourite", "edited", "template", "product", "language", "generator", "ai_generated"])
    for variant in generation.variants.all():
        writer.writerow([variant.index + 1, variant.text, variant.passed, variant.favourite, variant.edited,
                         generation.template.slug, generation.product, generation.language, generation.generator, "true"])
    return buffer.getvalue(), "text/csv; charset=utf-8"


def as_markdown(generation: Generation) -> tuple[str, str]:
    lines = [
        "---",
        f"title: {generation.template.name} for {generation.product.splitlines()[0][:80]}",
        f"generator: {generation.generator}",
        "ai_generated: true",
        f"disclosure: {_disclosure(generation)}",
        "---",
        "",
        f"# {generation.template.name}: {generation.product.splitlines()[0][:80]}",
        "",
        f"Audience: {generation.audience} · Tone: {generation.tone} · Language: {generation.language}",
        "",
    ]
    for variant in generation.variants.all():
        star = " ★" if variant.favourite else ""
        lines += [f"## Variant {variant.index + 1}{star}", "", variant.text, ""]
    lines += [f"_{_disclosure(generation)}_", ""]
    return "\n".join(lines), "text/markdown; charset=utf-8"


FORMATS = {"csv": as_csv, "md": as_markdown}
