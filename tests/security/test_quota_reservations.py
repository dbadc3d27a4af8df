"""Issue 21, finding 7 (token quota), as the attacks:
- requests sent at once all passed the quota check, which only read the tokens generated so far;
- a cancelled job retried ran again without any check;
- marketing and courseware did not charge the API key's own quota.
Now each job reserves its most tokens at submit, in the transaction that creates it, one user at a
time; the reservation is settled when the job ends; a retry reserves again; the applications pass
the API key on."""

import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from aigc_platform.accounts.services import api_key_create
from infrastructure.compute.models import Job, JobStatus
from infrastructure.usage import selectors, services
from infrastructure.usage.models import TokenReservation
from tests.applications.conftest import marketing_templates  # noqa: F401 (the applications' fixture)

SLUG = "smollm2-135m-instruct"
ASK = {"prompt": "Name a colour.", "max_new_tokens": 40}


def key_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


@pytest.mark.django_db(transaction=True)
def test_requests_sent_at_once_cannot_all_pass_the_quota(builtin, creator, client_for, settings):
    # Given a quota of 100 tokens a day, and six requests of up to 40 tokens each sent at the same moment.
    settings.AIGC_QUOTA_TOKENS_PER_DAY = 100
    clients = [client_for(creator) for _ in range(6)]
    start, answers = threading.Barrier(6), []

    def send(client):
        try:
            start.wait()
            answers.append(client.post(f"/api/v1/generators/{SLUG}/generate/", ASK, format="json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then only the requests that fit the quota were queued (0, 40 and 80 tokens were spoken for when
    # each came in), and their tokens are held while the jobs wait.
    assert sorted(answers) == [202, 202, 202, 429, 429, 429]
    assert Job.objects.filter(owner=creator, kind="generate").count() == 3
    assert selectors.tokens_held_today(user=creator) == 120

    # When the jobs end, the reservations are settled: only what was generated still counts.
    job = Job.objects.filter(owner=creator, kind="generate").first()
    services.usage_tokens_record(user_id=creator.pk, tokens=7, job_id=job.pk)
    Job.objects.filter(owner=creator).update(status=JobStatus.SUCCEEDED)
    assert (selectors.tokens_used_today(user=creator), selectors.tokens_held_today(user=creator)) == (7, 0)
    assert client_for(creator).get("/api/v1/usage/").json()["tokens_reserved"] == 0


@pytest.mark.django_db
def test_cancel_then_retry_is_checked_like_a_new_request(builtin, creator, client_for, settings):
    settings.AIGC_QUOTA_TOKENS_PER_DAY = 100
    client = client_for(creator)
    job = client.post(f"/api/v1/generators/{SLUG}/generate/", ASK, format="json").json()
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel/").status_code == 200
    # Given the day's quota is spent meanwhile.
    services.usage_tokens_record(user_id=creator.pk, tokens=100)

    # When the cancelled job is retried, it is refused like a new request, and stays cancelled.
    retried = client.post(f"/api/v1/jobs/{job['id']}/retry/")
    assert retried.status_code == 429, retried.content
    assert retried.json()["error"]["code"] == "quota_exceeded"
    assert Job.objects.get(pk=job["id"]).status == JobStatus.CANCELLED

    # Under the quota a retry reserves the job's tokens again.
    settings.AIGC_QUOTA_TOKENS_PER_DAY = 1000
    assert client.post(f"/api/v1/jobs/{job['id']}/retry/").status_code == 202
    assert selectors.tokens_held_today(user=creator) == ASK["max_new_tokens"]


@pytest.mark.django_db
@pytest.mark.usefixtures("marketing_templates")
def test_marketing_and_courseware_charge_the_api_keys_own_quota(builtin, creator, settings):
    settings.AIGC_QUOTA_TOKENS_PER_DAY, settings.AIGC_QUOTA_TOKENS_PER_DAY_API_KEY = 0, 50
    spent, fresh = api_key_create(owner=creator, name="spent"), api_key_create(owner=creator, name="fresh")
    services.usage_tokens_record(user_id=creator.pk, tokens=50, api_key_prefix=spent.api_key.prefix)
    headline = {
        "template": "ad-headline",
        "product": "Trail boots",
        "audience": "hikers",
        "tone": "bold",
        "language": "en",
        "variants": 1,
        "length": "short",
    }
    lesson = {
        "topic": "Fractions",
        "grade_level": 4,
        "objectives": ["Add fractions"],
        "slide_count": 1,
        "quiz_questions": 1,
    }
    for path, body in (("/api/v1/marketing/generations/", headline), ("/api/v1/courseware/", lesson)):
        # The key that spent its quota is refused by the applications too.
        refused = key_client(spent.raw_key).post(path, body, format="json")
        assert refused.status_code == 429, refused.content
        assert f"The API key {spent.api_key.prefix}" in refused.json()["error"]["message"]
        # Another key may, and its job carries the key, so that what it generates counts for the key.
        accepted = key_client(fresh.raw_key).post(path, body, format="json")
        assert accepted.status_code == 202, accepted.content
        job = Job.objects.filter(owner=creator).latest("created_at")
        assert job.params["api_key_prefix"] == fresh.api_key.prefix
        reservation = TokenReservation.objects.get(job_id=job.pk)
        assert reservation.api_key_prefix == fresh.api_key.prefix and reservation.tokens > 0
        # (The job ends unrun: its reservation is settled, and the key's quota is free for the next app.)
        Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
