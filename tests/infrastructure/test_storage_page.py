"""The storage page: a user's own files and quota used; admins also see totals per user."""

import io

import pytest

from infrastructure.storage import services

pytestmark = pytest.mark.django_db


def test_page_shows_own_files_and_usage_and_admins_see_totals(
    client, settings, tmp_path, creator, other_creator, admin_user, password
):
    settings.STORAGE_LOCAL_ROOT = tmp_path / "objects"
    settings.STORAGE_USER_QUOTA_BYTES = 10_000
    services.file_store(owner=creator, stream=io.BytesIO(b"a" * 2500), filename="mine.txt")
    services.file_store(owner=other_creator, stream=io.BytesIO(b"b" * 700), filename="theirs.txt")

    client.login(username=creator.username, password=password)
    page = client.get("/storage/").content.decode()
    assert "mine.txt" in page and "theirs.txt" not in page
    assert "1 file, 2.4\xa0KB used of 9.8\xa0KB" in page
    assert 'href="/storage/"' in page  # the nav entry
    assert 'data-testid="per-user"' not in page

    client.login(username=admin_user.username, password=password)
    admin_page = client.get("/storage/").content.decode()
    assert 'data-testid="per-user"' in admin_page
    assert creator.username in admin_page and other_creator.username in admin_page
