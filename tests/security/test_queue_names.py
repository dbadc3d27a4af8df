"""Finding 1 of issue 21, as the attack: a creator named a job's queue `unacked`, the key Celery's
Redis transport keeps its unacknowledged messages in (a hash). The message made it a list, the next
delivery stopped the worker with WRONGTYPE, and the broker kept the key across restarts.

Now the platform chooses a job's queue; operators may pick only queues that exist; and a transport
key of the wrong type is found, reported and set aside (never deleted) by `aigc doctor` and at every
worker's start, instead of stopping it."""

import subprocess
import sys

import pytest
import redis
import requests
from rest_framework.authtoken.models import Token

from aigc_platform import embedded
from aigc_platform.core.broker import broker_keys_of_wrong_type, broker_keys_repair
from infrastructure.compute.broker import redis_client
from infrastructure.compute.models import Job, Worker
from tests.processes import process_env, start_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ATTACK = {"kind": "echo", "params": {"steps": 1, "delay": 0}, "queue": "unacked"}


def post_job(web: str, user, body: dict) -> requests.Response:
    token = Token.objects.get_or_create(user=user)[0].key
    return requests.post(f"{web}/api/v1/jobs/", json=body, headers={"Authorization": f"Token {token}"}, timeout=10)


def test_no_caller_can_name_a_queue_after_the_brokers_own_keys(web, worker, creator, operator, log_dir):
    # Given a real worker on the real broker, whose `unacked` key is the transport's hash (or absent)
    assert redis_client().type("unacked") in (b"hash", b"none")
    # When a creator sends a job into `unacked`
    as_creator = post_job(web, creator, ATTACK)
    # Then it is refused: a creator names no queue at all
    assert as_creator.status_code == 403, as_creator.text
    assert as_creator.json()["error"]["fields"] == {"queue": ["Leave it out."]}
    # and an operator may pick only a queue that exists, which `unacked` is not
    as_operator = post_job(web, operator, ATTACK)
    assert as_operator.status_code == 400 and as_operator.json()["error"]["code"] == "unknown_queue", as_operator.text
    for name in ("_kombu.binding.celery", "no-such-queue"):
        assert post_job(web, operator, {**ATTACK, "queue": name}).status_code == 400
    # and no job was made, and the key is still the transport's own
    assert not Job.objects.filter(queue="unacked").exists()
    assert redis_client().type("unacked") in (b"hash", b"none")
    # and the worker lives on: a job without a queue goes where its kind goes, and runs
    job = post_job(web, creator, {"kind": "echo", "params": {"steps": 1, "delay": 0}}).json()
    assert job["queue"] == "default"
    wait_for(lambda: Job.objects.get(pk=job["id"]).status == "succeeded", timeout=30, what="the echo job")
    # and an operator's pick of a queue that a registered worker consumes is taken
    # (a worker of this test's own: a transactional test before it may have emptied the registry)
    own = start_worker(log_dir, queues="default")
    try:
        own_queue = wait_for(
            lambda: Worker.objects.filter(name__startswith=f"{own.name}@").values_list("own_queue", flat=True).first(),
            timeout=60,
            what="the worker's registration",
        )
        picked = post_job(web, operator, {**ATTACK, "queue": own_queue})
    finally:
        own.stop()
    assert picked.status_code == 202 and picked.json()["queue"] == own_queue


@pytest.fixture
def poisoned_broker(tmp_path):
    """A Redis of its own (the session's workers must not meet the poison), holding what the attack
    left: a list named `unacked`, with one message in it."""
    group = embedded.ProcessGroup(log_dir=tmp_path)
    url = embedded.redis_start(group, data_dir=tmp_path, env=process_env())
    client = redis.Redis.from_url(url)
    client.rpush("unacked", b'{"body": "a task message"}')
    yield url, client
    client.close()
    group.stop()


def test_doctor_reports_a_transport_key_of_the_wrong_type_and_repairs_it_on_request(poisoned_broker):
    url, client = poisoned_broker
    # When `aigc doctor` runs against that broker
    found = subprocess.run(
        [sys.executable, "-m", "aigc_platform.cli", "doctor"],
        env=process_env(CELERY_BROKER_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it exits 1, says which key has which wrong type, and how to repair it; it changed nothing
    output = " ".join(found.stdout.replace("│", " ").split())
    assert found.returncode == 1, found.stdout + found.stderr
    assert "'unacked' is a list, not a hash" in output and "aigc doctor --repair" in output
    assert client.type("unacked") == b"list"
    # When it runs with --repair
    repaired = subprocess.run(
        [sys.executable, "-m", "aigc_platform.cli", "doctor", "--repair"],
        env=process_env(CELERY_BROKER_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = " ".join(repaired.stdout.replace("│", " ").split())
    # Then the key is renamed aside, its message kept, and the transport's keys are sound
    assert "'unacked' renamed to 'aigc:set-aside:unacked:" in output, output
    [aside] = client.keys("aigc:set-aside:unacked:*")
    assert client.lrange(aside, 0, -1) == [b'{"body": "a task message"}']
    assert client.type("unacked") == b"none" and broker_keys_of_wrong_type(client) == []


def test_a_worker_started_on_a_poisoned_broker_sets_the_key_aside_and_runs_jobs(poisoned_broker, tmp_path, creator):
    url, client = poisoned_broker
    # Given a broker that holds the attack's list (as the embedded Redis kept it across restarts)
    # When a worker starts on it and a job is sent through it
    service = start_worker(tmp_path, queues="default", CELERY_BROKER_URL=url)
    try:
        from aigc_platform.celery import app

        job = Job.objects.create(
            owner=creator, kind="echo", params={"steps": 1, "delay": 0, "message": "after"}, queue="default"
        )
        with app.connection_for_write(url) as connection:
            app.send_task("jobs.echo", args=[str(job.pk)], queue="default", connection=connection)
        # Then the worker did not stop: it set the key aside, said so, and ran the job
        wait_for(
            lambda: Job.objects.get(pk=job.pk).status == "succeeded", timeout=60, what="the job on the repaired broker"
        )
        assert service.popen.poll() is None
        assert "renamed to 'aigc:set-aside:unacked:" in service.log()
        assert client.type("unacked") in (b"hash", b"none")
    finally:
        service.stop()


def test_startup_repair_leaves_sound_keys_alone(poisoned_broker):
    url, client = poisoned_broker
    client.delete("unacked")
    client.hset("unacked", "tag", "[]")
    client.rpush("default", b"message")
    assert broker_keys_repair(url, queues={"default"}) == []
    assert client.type("unacked") == b"hash" and client.llen("default") == 1


def test_aigc_up_sets_a_poisoned_key_aside_before_starting_workers_and_says_so(poisoned_broker):
    from io import StringIO

    from rich.console import Console

    from aigc_platform.cli import _repair_broker_keys

    url, client = poisoned_broker
    said = StringIO()
    # When `aigc up` checks the broker before it starts its workers
    _repair_broker_keys(Console(file=said, width=300), url, queues={"default", "inference"})
    # Then the list is out of the way, kept under a name that says why, and the user was told
    assert client.type("unacked") == b"none" and len(client.keys("aigc:set-aside:unacked:*")) == 1
    assert "The broker's key 'unacked' was a list, not the hash Celery keeps there" in said.getvalue()
    assert "nothing deleted" in said.getvalue()
