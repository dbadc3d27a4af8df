"""Issue 21, finding 7 (worker disk): a worker kept its local copies of objects and the checkpoint
folders unpacked from them (up to 20 GiB each) forever. On real object storage (SeaweedFS), copies
and a real unpacked checkpoint folder are now evicted by age and by size, least recently used first,
and never while one is held in use; what was evicted is fetched again, verified, when next needed."""

import io
import os
import threading
import time
import zipfile

import pytest

from infrastructure.storage.selectors import file_local_copy, file_local_path
from infrastructure.storage.services import file_store, local_copies_evict
from models_layer.runtime.artifacts import checkpoint_folder_held

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
DAY = 24 * 3600


@pytest.fixture
def local_disk(s3_storage, settings, tmp_path):
    """This test's own cache folders (the session's shared checkpoint folders are left alone)."""
    settings.STORAGE_CACHE_DIR, settings.MODEL_FOLDERS_DIR = tmp_path / "cache", tmp_path / "cache" / "models"
    settings.LOCAL_CACHE_MAX_BYTES, settings.LOCAL_CACHE_MAX_AGE_SECONDS, settings.LOCAL_CACHE_MIN_IDLE_SECONDS = (
        0,
        0,
        0,
    )
    return tmp_path


def stored(owner, n: int, size: int = MB):
    return file_store(owner=owner, stream=io.BytesIO(os.urandom(size)), filename=f"weights-{n}.bin")


def age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_copies_and_checkpoint_folders_are_evicted_by_age_and_size_never_while_in_use(local_disk, operator):
    # Given three local copies of 1 MiB, and a checkpoint folder unpacked from a stored zip.
    files = [stored(operator, n) for n in range(3)]
    copies = [file_local_path(file=file) for file in files]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("model/config.json", '{"model_type": "gpt2"}')
        bundle.writestr("model/weights.bin", os.urandom(MB))
    checkpoint = file_store(owner=operator, stream=io.BytesIO(archive.getvalue()), filename="checkpoint.zip")
    with file_local_copy(file=checkpoint) as path, checkpoint_folder_held(path, checkpoint.sha256, "hf") as folder:
        assert (folder / "config.json").is_file()
    unpacked = folder.parent
    assert all(copy.is_file() and str(copy).startswith(str(local_disk)) for copy in copies) and unpacked.is_dir()

    # Copy 0 and the folder were last used 30 days ago, copy 1 a day ago, copy 2 now.
    for path, seconds in ((copies[0], 30 * DAY), (unpacked, 30 * DAY), (copies[1], DAY)):
        age(path, seconds)

    # When the copies older than two weeks go, copy 0 goes but stays while a job holds it.
    with file_local_copy(file=files[0]):
        age(copies[0], 30 * DAY)  # (holding it marked it used: it is made old again)
        held = local_copies_evict(max_age_seconds=14 * DAY, max_bytes=0, min_idle_seconds=0)
        assert (held["removed"], held["kept_in_use"]) == (1, 1)
        assert copies[0].is_file() and not unpacked.exists()
    age(copies[0], 30 * DAY)
    aged = local_copies_evict(max_age_seconds=14 * DAY, max_bytes=0, min_idle_seconds=0)
    assert aged["removed"] == 1 and not copies[0].exists()
    assert copies[1].is_file() and copies[2].is_file()

    # When the rest (copies 1 and 2, and the zip's copy: 3 MiB) must fit in 2.5 MiB, the least recently
    # used, copy 1, goes.
    sized = local_copies_evict(max_age_seconds=0, max_bytes=int(2.5 * MB), min_idle_seconds=0)
    assert sized["removed"] == 1 and not copies[1].exists() and copies[2].is_file()
    assert sized["bytes"] <= 2.5 * MB

    # What was evicted is fetched again, and verified, when next used.
    again = file_local_path(file=files[0])
    assert again == copies[0] and again.stat().st_size == MB


def test_a_copy_in_use_in_another_thread_is_never_evicted(local_disk, operator):
    file = stored(operator, 9)
    holding, release = threading.Event(), threading.Event()

    def job():
        with file_local_copy(file=file) as path:
            holding.set()
            release.wait(10)
            assert path.read_bytes()  # still there, whole

    worker = threading.Thread(target=job)
    worker.start()
    assert holding.wait(10)
    copy = file_local_path(file=file)
    age(copy, 60 * DAY)
    try:
        result = local_copies_evict(max_age_seconds=DAY, max_bytes=1, min_idle_seconds=0)
        assert result["removed"] == 0 and copy.is_file()
    finally:
        release.set()
        worker.join()
    # Once the job is done with it, it goes.
    assert local_copies_evict(max_age_seconds=DAY, max_bytes=1, min_idle_seconds=0)["removed"] == 1


def test_a_new_copy_makes_room_with_the_settings(local_disk, operator, settings):
    settings.LOCAL_CACHE_MAX_BYTES, settings.LOCAL_CACHE_MIN_IDLE_SECONDS = int(1.5 * MB), 60
    first = file_local_path(file=stored(operator, 1))
    age(first, 3600)
    second = file_local_path(file=stored(operator, 2))
    third = file_local_path(file=stored(operator, 3))
    # Fetching a new copy evicted the least recently used one to make room for it; the second, used a
    # moment ago, stays (LOCAL_CACHE_MIN_IDLE_SECONDS).
    assert not first.exists() and second.is_file() and third.is_file()
