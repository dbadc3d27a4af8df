"""Reads for the OpenAI-compatible API: the models a caller may use, and the jobs of a request as
they end (from their live event streams, so an answer is returned the moment its job ends)."""

import asyncio
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async

from infrastructure.compute import selectors as compute_selectors
from infrastructure.compute.models import TERMINAL_STATUSES, Job
from models_layer.registry import selectors as registry_selectors
from models_layer.registry.models import GeneratorKind, Stage


def models_visible_to(*, user) -> list[dict]:
    """OpenAI's model objects: each text generator with a production version as `slug`, and each
    validated version the user may call as `slug:version`."""
    generators = (
        registry_selectors.generators_visible_to(user=user).filter(kind=GeneratorKind.TEXT).prefetch_related("versions")
    )
    models = []
    for generator in generators:
        owner = generator.owner.username if generator.owner_id else "aigc-platform"
        versions = sorted((v for v in generator.versions.all() if v.is_validated), key=lambda v: v.number)
        may_manage = (
            registry_selectors.generator_can_manage(user=user, generator=generator) or generator.owner_id is None
        )
        production = next((v for v in versions if v.stage == Stage.PRODUCTION), None)
        if production is not None:
            models.append(
                {
                    "id": generator.slug,
                    "object": "model",
                    "created": int(generator.created_at.timestamp()),
                    "owned_by": owner,
                }
            )
        for version in versions:
            if version.stage == Stage.PRODUCTION or may_manage:
                models.append(
                    {
                        "id": f"{generator.slug}:{version.number}",
                        "object": "model",
                        "created": int(version.created_at.timestamp()),
                        "owned_by": owner,
                    }
                )
    return models


def jobs_wait(*, jobs: list[Job], timeout: float) -> list[Job]:
    """The jobs, re-read once all have ended or `timeout` seconds have passed."""
    return compute_selectors.jobs_wait_ended(jobs=jobs, timeout=timeout)


async def jobs_follow(*, jobs: list[Job]) -> AsyncIterator[tuple[int, str, dict]]:
    """(choice index, event type, data) of every job's `token` events as they come, until each job has
    ended; a job's last item is ("end", its row as a dict of status, result and error)."""
    merged: asyncio.Queue = asyncio.Queue()

    async def follow(index: int, job: Job) -> None:
        try:
            async for event in compute_selectors.job_events_follow(
                job.pk, block_ms=int(compute_selectors.WAIT_DATABASE_CHECK_SECONDS * 1000)
            ):
                if event is None:
                    if (await _job_row(job.pk))["status"] in TERMINAL_STATUSES:
                        break
                    continue
                _, kind, data = event
                if kind == "token":
                    await merged.put((index, kind, data))
                elif kind == "status" and data.get("status") in TERMINAL_STATUSES:
                    break
            await merged.put((index, "end", await _job_row(job.pk)))
        except Exception as error:  # noqa: BLE001 (the stream broke: this choice ends with the reason, not silently)
            await merged.put(
                (index, "end", {"status": "failed", "result": None, "error": f"Lost the job's events: {error}"})
            )

    tasks = [asyncio.create_task(follow(index, job)) for index, job in enumerate(jobs)]
    try:
        remaining = len(tasks)
        while remaining:
            item = await merged.get()
            if item[1] == "end":
                remaining -= 1
            yield item
    finally:
        for task in tasks:
            task.cancel()


@sync_to_async
def _job_row(pk) -> dict:
    return Job.objects.filter(pk=pk).values("status", "result", "error").get()
