"""Reads for provenance: one record by id for someone allowed to see it, and the latest record of an artifact."""

import uuid

from aigc_platform.accounts.roles import OPERATOR, user_has_role
from aigc_platform.core.errors import NotFound
from infrastructure.provenance.models import ProvenanceRecord


def provenance_visible(*, user, record: ProvenanceRecord) -> bool:
    """Its owner, staff and operators (who answer for the generators) see a record."""
    return bool(
        user
        and user.is_authenticated
        and (record.owner_id == user.pk or user.is_staff or user_has_role(user, OPERATOR))
    )


def provenance_get(*, user, record_id) -> ProvenanceRecord:
    """The record `record_id`, or NotFound (404) for an unknown or malformed id and for a record the
    user may not see: whether an id exists is not told to others."""
    try:
        pk = uuid.UUID(str(record_id))
    except ValueError:
        pk = None
    record = ProvenanceRecord.objects.select_related("owner", "job", "parent").filter(pk=pk).first() if pk else None
    if record is None or not provenance_visible(user=user, record=record):
        raise NotFound(f"No provenance record {record_id}.")
    return record


def provenance_latest(*, artifact_ref: str) -> ProvenanceRecord | None:
    """The newest record of an artifact (a lesson written again has a record per writing)."""
    return ProvenanceRecord.objects.filter(artifact_ref=artifact_ref).order_by("-created_at").first()


def provenance_latest_many(*, artifact_refs: list[str]) -> list[ProvenanceRecord]:
    """The newest record of each of many artifacts (those that have one), in two queries."""
    latest: dict[str, object] = {}
    rows = ProvenanceRecord.objects.filter(artifact_ref__in=artifact_refs).order_by("artifact_ref", "-created_at")
    for ref, pk in rows.values_list("artifact_ref", "pk"):
        latest.setdefault(ref, pk)
    return list(ProvenanceRecord.objects.filter(pk__in=latest.values()))
