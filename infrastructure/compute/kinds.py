"""The registry of job kinds: each layer's `tasks.py` registers its kinds through `lifecycle.job_task`."""

from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    name: str
    task_name: str
    params: type | None
    public: bool
    # The queue its jobs go to when they ask for no GPUs (None: the default queue); the platform
    # chooses it, never the job's creator.
    queue: str | None = None


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> None:
    _KINDS[kind.name] = kind


def job_kinds() -> dict[str, JobKind]:
    return dict(_KINDS)


def job_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)
