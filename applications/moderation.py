"""The content filter both applications run on what people type and on what the generator writes.

Terms come per language from settings.MODERATION_BLOCKED_TERMS. A blocked input is refused with a
400 that says which field and why; every block (input or output) is written to the audit log, where
admins see it (`content.blocked`).
"""
import re
from functools import lru_cache

from django.conf import settings

from aigc_platform.audit.services import audit_record
from aigc_platform.core.errors import ApplicationError

AUDIT_ACTION = "content.blocked"


class ContentBlocked(ApplicationError):
    code = "content_blocked"


@lru_cache(maxsize=32)
def _matcher(terms: tuple[str, ...]) -> re.Pattern | None:
    parts = []
    for term in terms:
        escaped = re.escape(term.strip().lower())
        if not escaped:
            continue
        # Whole words for scripts with spaces; a CJK term is found anywhere.
        parts.append(rf"(?<!\w){escaped}(?!\w)" if term.isascii() else escaped)
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def blocked_terms(*, text: str) -> list[str]:
    """The configured terms found in `text` (every language's list applies: a Chinese slur in an
    English request is still a slur)."""
    found: list[str] = []
    for terms in settings.MODERATION_BLOCKED_TERMS.values():
        matcher = _matcher(tuple(terms))
        if matcher is None:
            continue
        found.extend(match.group(0).lower() for match in matcher.finditer(text or ""))
    return sorted(set(found))


def moderation_record(*, user, where: str, terms: list[str], language: str, target=None) -> None:
    audit_record(action=AUDIT_ACTION, actor=user, target=target,
                 detail={"where": where, "terms": terms, "language": language})


def moderate_inputs(*, user, fields: dict[str, str | list[str]], language: str, where: str) -> None:
    """Refuse a request whose fields hold blocked terms (ContentBlocked, 400), and log it for admins.
    Call it before opening a transaction: a rollback would take the audit record with it."""
    problems: dict[str, list[str]] = {}
    found: set[str] = set()
    for name, value in fields.items():
        texts = value if isinstance(value, list) else [value or ""]
        terms = sorted({term for text in texts for term in blocked_terms(text=str(text))})
        if terms:
            problems[name] = [f"Contains blocked content: {', '.join(terms)}."]
            found.update(terms)
    if problems:
        moderation_record(user=user, where=f"{where} input", terms=sorted(found), language=language)
        raise ContentBlocked(
            "The request was blocked by the content filter; rephrase the marked fields.", fields=problems
        )
