"""Provenance end to end, against a real web server and worker: a text from the generate API and
images from an image generator each name their provenance record, which their owner finds at the
API and as a page and nobody else does; the images carry it in their own metadata. (The marketing
and courseware tests check their variants', lessons' and exports' records.)"""

import hashlib
import io

import pytest
import torch
from django.utils import timezone
from PIL import Image

from infrastructure.provenance.models import TRAINED_ALGORITHMIC_MEDIA
from infrastructure.storage.services import file_store
from models_layer.registry.models import GeneratorVersion
from models_layer.registry.services import (
    generator_create,
    generator_version_create,
    generators_bootstrap,
)
from tests.infrastructure.provenance_helpers import assert_record_served, assert_xmp_names, png_chunks, png_xmp

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_generated_text_has_a_record_its_owner_finds(creator, other_creator, client_for, inference_worker):
    generators_bootstrap()
    body = {"messages": [{"role": "user", "content": "Name a colour."}], "max_new_tokens": 6, "seed": 5}
    job = client_for(creator).post("/api/v1/generators/smollm2-135m-instruct/generate/?wait=120", body, format="json")
    assert job.json()["status"] == "succeeded", job.json()
    result = job.json()["result"]
    record = assert_record_served(
        owner=creator,
        other=other_creator,
        record_id=result["provenance_id"],
        kind="text",
        generator="smollm2-135m-instruct v1",
    )
    assert record["job"] == job.json()["id"] and record["media_type"].startswith("text/plain")
    assert record["content_sha256"] == hashlib.sha256(result["text"].encode()).hexdigest()


def test_generated_images_carry_their_record(operator, other_creator, client_for, inference_worker):
    from tools_layer.training.recipes.vae import build_vae

    # Given a small (untrained) VAE registered as an image generator
    torch.manual_seed(0)
    config = {"image_size": 8, "width": 16, "latent_dim": 4, "channels": 1}
    buffer = io.BytesIO()
    torch.save({"architecture": "vae", "config": config, "state_dict": build_vae(config).state_dict()}, buffer)
    buffer.seek(0)
    generator = generator_create(owner=operator, slug="prov-vae", name="Prov VAE", kind="image", backend="torch")
    version = generator_version_create(
        generator=generator,
        artifact=file_store(owner=operator, stream=buffer, filename="vae.pt"),
        format="torch",
        created_by=operator,
    )
    # The `vae` architecture is registered inside workers (the training layer's), so it is marked as
    # validated here; the worker that generates loads it for real.
    GeneratorVersion.objects.filter(pk=version.pk).update(validated_at=timezone.now())
    client = client_for(operator)
    # When two images are generated through the API
    job = client.post(
        "/api/v1/generators/prov-vae/generate/?wait=120", {"count": 2, "seed": 3, "version": 1}, format="json"
    )
    assert job.status_code == 200 and job.json()["status"] == "succeeded", job.content
    images = job.json()["result"]["images"]
    assert len(images) == 2 and len({image["provenance_id"] for image in images}) == 2
    for image in images:
        # Then each PNG names its record in XMP (read from the raw chunks with lxml) and in a C2PA manifest
        data = b"".join(client.get(image["url"]).streaming_content)
        assert_xmp_names(png_xmp(data), image["provenance_id"])
        manifest = b"".join(body for kind, body in png_chunks(data) if kind == b"caBX")
        assert image["provenance_id"].encode() in manifest
        assert Image.open(io.BytesIO(data)).size == (8, 8)
        # and the record is served to its owner, not to others, with the file's own hash
        record = assert_record_served(
            owner=operator, other=other_creator, record_id=image["provenance_id"], kind="image", generator="prov-vae v1"
        )
        assert record["content_sha256"] == hashlib.sha256(data).hexdigest()
        assert record["artifact_url"] == image["url"] and record["digital_source_type"] == TRAINED_ALGORITHMIC_MEDIA
