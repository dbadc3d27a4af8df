"""Compute's tasks: the built-in `echo` job kind (a demo and a probe of the whole path) and the
periodic sweep that marks silent workers offline and recovers their jobs."""

import time

from django.utils.translation import gettext
from rest_framework import serializers

from aigc_platform.celery import app
from aigc_platform.core.errors import ApplicationError
from aigc_platform.core.serializers import StrictSerializer
from infrastructure.compute import services
from infrastructure.compute.lifecycle import JobContext, job_task


class EchoParams(StrictSerializer):
    message = serializers.CharField(max_length=10_000, default="hello", allow_blank=True)
    steps = serializers.IntegerField(min_value=1, max_value=1000, default=5)
    delay = serializers.FloatField(min_value=0.0, max_value=60.0, default=0.5, help_text="Seconds per step.")
    fail_at_step = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text="Fail on purpose at this step."
    )


@job_task("echo", params=EchoParams, public=True, soft_time_limit=3600)
def echo(ctx: JobContext) -> dict:
    """Waits `steps` times `delay` seconds, reporting each step, then returns its message."""
    steps, delay = ctx.params["steps"], ctx.params["delay"]
    for step in range(1, steps + 1):
        time.sleep(delay)
        if step == ctx.params.get("fail_at_step"):
            raise ApplicationError(gettext("Failed on purpose at step %(step)s.") % {"step": step})
        ctx.log(f"step {step} of {steps}")
        ctx.progress(step / steps, f"Step {step} of {steps}")
    return {"echo": ctx.params["message"], "steps": steps, "attempt": ctx.attempt}


@app.task(name="compute.sweep", ignore_result=True, soft_time_limit=60, time_limit=90)
def sweep() -> dict:
    return services.compute_sweep()
