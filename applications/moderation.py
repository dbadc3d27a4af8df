"""The applications' side of the content filter: a thin caller of models_layer.moderation, the one
service every way in and out uses (word lists, patterns and classifier generators, audited as
`content.blocked` with the policy that fired).

Inputs (what people type) go through `moderate_inputs`: a blocked field is a 400 naming it. Outputs are
held to `output_verdicts` by each item's `content_filter` check: word lists and patterns everywhere,
and the classifier generators too where the item was written (a worker, where a model runs; an edit is
checked in the web process, where none does). A blocked item is recorded with `moderation_record`.
"""

from models_layer.moderation.selectors import moderation_scan
from models_layer.moderation.services import ContentBlocked, moderation_block_record, moderation_inputs_check

__all__ = ["ContentBlocked", "content_filter_check", "moderate_inputs", "moderation_record", "output_verdicts"]


def moderate_inputs(*, user, fields: dict[str, str | list[str]], language: str, where: str) -> None:
    """Refuse a request whose fields a policy blocks (ContentBlocked, 400), and record it (`where`: the
    application's way in, e.g. "marketing"). Call it before opening a transaction: a rollback would
    take the audit record with it."""
    moderation_inputs_check(user=user, fields=fields, surface=where, language=language)


def output_verdicts(*, text: str, classify: bool = False) -> list:
    """The policies that block generated `text` ([] when it passes): word lists and patterns, and with
    `classify` the classifier generators too (they run a model in this process: a worker's job)."""
    return moderation_scan(text=text, direction="output", classify=classify)


def content_filter_check(*, text: str, classify: bool = False) -> dict:
    """The `content_filter` check of an item: passed, or which policies blocked it. Items written in a
    worker are classified too (`classify`); an edit checked in the web process meets word lists and patterns."""
    verdicts = output_verdicts(text=text, classify=classify)
    return {
        "passed": not verdicts,
        "detail": f"blocked by {', '.join(v.policy for v in verdicts)}" if verdicts else "clean",
    }


def moderation_record(*, user, where: str, text: str, language: str, target=None) -> None:
    """Record that generated `text` was blocked on its way out of `where` (e.g. "marketing")."""
    moderation_block_record(
        user=user,
        # a classifier runs only when no word list or pattern fired: then it was the classifier that blocked
        verdicts=output_verdicts(text=text, classify=True),
        surface=where,
        direction="output",
        language=language,
        target=target,
    )
