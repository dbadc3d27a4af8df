"""An annotator labels tasks with the keyboard only (and undoes one); an operator imports a dataset
on its page and watches the progress bar finish."""

import io
import json

import pytest

from infrastructure.storage.services import file_store
from tools_layer.datasets import services as dataset_services
from tools_layer.labeling import services
from tools_layer.labeling.models import Annotation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_labeling_with_the_keyboard_and_undo(make_user, sign_in, web):
    operator, annotator = make_user("operator"), make_user("creator")
    dataset = dataset_services.dataset_create(owner=operator, name="reviews", kind="text")
    texts = ["Loved it", "Hated it", "Meh, fine"]
    file = file_store(
        owner=operator,
        stream=io.BytesIO("\n".join(json.dumps({"text": t}) for t in texts).encode()),
        filename="r.jsonl",
    )
    dataset_services.dataset_import_file(dataset=dataset, file=file, options={}, owner=operator)
    version = dataset_services.dataset_version_create(dataset=dataset, user=operator, validation_fraction=0)
    project = services.project_create(
        owner=operator,
        name="sentiment",
        task_type="single_label",
        dataset_version=version,
        labels=["positive", "negative", "neutral"],
        annotators=[annotator.username],
    )

    page = sign_in(annotator)
    page.goto(f"{web}/labeling/{project.pk}/label/")
    text = page.get_by_test_id("task-text")
    text.filter(has_text="Loved it").wait_for()
    page.keyboard.press("2")  # wrong on purpose
    text.filter(has_text="Hated it").wait_for()
    page.keyboard.press("Backspace")  # undo: back to the first task
    text.filter(has_text="Loved it").wait_for()
    page.keyboard.press("1")
    text.filter(has_text="Hated it").wait_for()
    page.keyboard.press("2")
    text.filter(has_text="Meh, fine").wait_for()
    page.keyboard.press("3")
    page.get_by_test_id("done").wait_for()
    page.get_by_test_id("progress-count").filter(has_text="3 / 3").wait_for()

    answers = {a.task.item.preview: a.value["label"] for a in Annotation.objects.select_related("task__item")}
    assert answers == {"Loved it": "positive", "Hated it": "negative", "Meh, fine": "neutral"}


def test_import_on_the_dataset_page_shows_progress_to_the_end(make_user, sign_in, web, worker, tmp_path):
    operator = make_user("operator")
    dataset = dataset_services.dataset_create(owner=operator, name="upload me", kind="text")
    path = tmp_path / "lines.jsonl"
    path.write_text("\n".join(json.dumps({"text": f"line {n}"}) for n in range(500)))
    page = sign_in(operator)
    page.goto(f"{web}/datasets/{dataset.pk}/")
    page.get_by_test_id("import-file").set_input_files(str(path))
    page.click("#import button[type=submit]")
    page.get_by_test_id("import-message").filter(has_text="Imported 500 items").wait_for(timeout=60_000)
    assert page.locator("#import-progress").get_attribute("data-status") == "succeeded"
    page.get_by_test_id("item-count").filter(has_text="500").wait_for()
