"""Sources and licences: training refuses a dataset whose licence forbids it unless an admin overrides
(audited); a trained version's model card carries the dataset's source and licence; evaluation reads
the test split when a version has one."""

import pytest

from aigc_platform.audit.models import AuditEvent
from tests.tools_layer.training_data import text_version
from tools_layer.datasets import services as datasets
from tools_layer.datasets.models import Dataset, DatasetVersion
from tools_layer.datasets.selectors import dataset_version_evaluation_split
from tools_layer.training import services as training
from tools_layer.training.cards import data_lines

pytestmark = pytest.mark.django_db


def licensed(owner, **fields):
    version = text_version(owner, count=12)
    Dataset.objects.filter(pk=version.dataset_id).update(**fields)
    version.dataset.refresh_from_db()
    return version


@pytest.mark.parametrize(
    "fields",
    [
        {"licence": "CC-BY-ND-4.0"},
        {"licence": "CC-BY-NC-ND-4.0"},
        {
            "licence": "custom",
            "licence_text": "Free to read and quote. You may not use this text for training AI models.",
        },
        {"licence": "custom", "licence_text": "本数据集禁止用于模型训练。"},
    ],
)
def test_training_is_refused_unless_an_admin_overrides_and_the_override_is_audited(operator, admin_user, fields):
    version = licensed(operator, **fields)
    with pytest.raises(Exception, match="cannot be trained on") as refused:
        training.training_job_submit(user=operator, recipe="lm-scratch", dataset_version=version.pk)
    assert refused.value.code == "licence_forbids_training"
    with pytest.raises(Exception, match="Only an admin"):
        training.training_job_submit(
            user=operator, recipe="lm-scratch", dataset_version=version.pk, licence_override=True
        )
    assert not AuditEvent.objects.filter(action=datasets.LICENCE_OVERRIDE_ACTION).exists()

    run = training.training_job_submit(
        user=admin_user, recipe="lm-scratch", dataset_version=version.pk, licence_override=True
    )
    assert run.dataset_version_id == version.pk
    event = AuditEvent.objects.get(action=datasets.LICENCE_OVERRIDE_ACTION)
    assert event.actor == admin_user and event.detail["dataset_version"] == str(version.pk)


@pytest.mark.parametrize(
    "fields",
    [
        {"licence": "CC-BY-4.0"},
        {"licence": ""},
        {"licence": "custom", "licence_text": "Use it for anything, training included."},
    ],
)
def test_permissive_licences_train(operator, fields):
    run = training.training_job_submit(
        user=operator, recipe="lm-scratch", dataset_version=licensed(operator, **fields).pk
    )
    assert run.pk


def test_a_licence_must_be_an_spdx_id_or_custom_with_text(operator):
    with pytest.raises(Exception, match="needs its text"):
        datasets.dataset_create(owner=operator, name="a", kind="text", licence="custom")
    with pytest.raises(Exception, match="not an SPDX identifier"):
        datasets.dataset_create(owner=operator, name="b", kind="text", licence="all rights reserved")
    dataset = datasets.dataset_create(
        owner=operator,
        name="c",
        kind="text",
        source="https://example.com/scrape",
        licence="CC-BY-SA-4.0",
        has_personal_data=True,
    )
    assert data_lines(dataset) == [
        "- **Source**: https://example.com/scrape",
        "- **Licence**: CC-BY-SA-4.0",
        "- **Personal data**: yes",
    ]


def test_evaluation_reads_the_test_split_when_there_is_one(operator):
    version = text_version(operator, count=12)
    assert dataset_version_evaluation_split(version=version) == "validation"
    step = {"step": "split", "params": {"validation_fraction": 0.2, "test_fraction": 0.2, "seed": 0, "stratify": True}}
    split = datasets.dataset_prepare_run(version=version, steps=[step], user=operator)
    tested = DatasetVersion.objects.get(pk=split["version"])
    assert tested.test_count > 0 and dataset_version_evaluation_split(version=tested) == "test"
