"""Writes to the audit log. Every layer records its audited actions through `audit_record`."""

from typing import Any

from aigc_platform.audit.models import AuditEvent
from aigc_platform.core.clients import client_address


def client_ip(request) -> str | None:
    if request is None:
        return None
    return client_address(request) or None


def audit_record(
    *, action: str, actor=None, target=None, detail: dict[str, Any] | None = None, request=None, actor_name: str = ""
) -> AuditEvent:
    """`target` is a model instance (its type and primary key are kept) or None."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor_name or (actor.get_username() if actor else ""),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        detail=detail or {},
        ip=client_ip(request),
    )
