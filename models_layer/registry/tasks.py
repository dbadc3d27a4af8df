"""The registry's job kinds: `generate` (text or images from a version) and the validation of an
uploaded version. `generate` jobs go to GENERATION_QUEUE, whose threads-pool worker batches them."""

from django.contrib.auth import get_user_model

from infrastructure.compute.lifecycle import JobContext, job_task
from models_layer.moderation.services import output_guard
from models_layer.registry import selectors, services
from models_layer.registry.models import GeneratorKind
from models_layer.registry.serializers import GenerateJobParams, ValidateJobParams


@job_task("generate", params=GenerateJobParams, soft_time_limit=3600)
def generate(ctx: JobContext) -> dict:
    """Streams text as `token` events ({"text": piece}) while it is produced; images are stored as PNGs.
    Each text and image gets a provenance record, whose id the result names (`provenance_id`)."""
    from models_layer.runtime import generate_images, generate_text

    version = selectors.generator_version_by_id(pk=ctx.params["version_id"])
    request = ctx.params["request"]
    if version.generator.kind == GeneratorKind.TEXT:
        # What is written reaches the job's stream and result only through the content filter.
        guard = output_guard(ctx=ctx, surface=ctx.params.get("surface") or "generate API")
        result = guard.finish(generate_text(version=version, ctx=guard, **request))
        result["provenance_id"] = str(services.generation_provenance_record(version=version, ctx=ctx, result=result).pk)
    else:
        owner = get_user_model().objects.get(pk=ctx.owner_id)
        result = generate_images(version=version, owner=owner, job_id=ctx.job_id, request=request, **request)
    return {"generator": version.generator.slug, "version": version.number, **result}


@job_task("generator-version-validate", params=ValidateJobParams, soft_time_limit=1800)
def validate_version(ctx: JobContext) -> dict:
    """Loads an uploaded version and generates a little; a broken file fails here with its reason."""
    return services.generator_version_validate(version_id=ctx.params["version_id"], progress=ctx.progress)
