"""Queued jobs whose queue was named by their creator after one of the broker transport's own keys
(issue 21, finding 1) go back to their kind's queue, so no sweep or retry sends them there again."""
from django.db import migrations
from django.db.models import Q

RESERVED = ["unacked", "unacked_index", "unacked_mutex"]


def move_off_reserved_queues(apps, schema_editor):
    Job = apps.get_model("compute", "Job")
    Job.objects.filter(Q(queue__in=RESERVED) | Q(queue__startswith="_kombu.")).update(queue="default")


class Migration(migrations.Migration):
    dependencies = [("compute", "0003_job_fewer_indexes")]
    operations = [migrations.RunPython(move_off_reserved_queues, migrations.RunPython.noop)]
