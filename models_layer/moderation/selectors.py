"""Reads for moderation: the policies, what they find in a text (without recording anything), the
blocked terms of every word list (which dataset cleaning drops), and the recent blocks."""

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext

from aigc_platform.audit.models import AuditEvent
from aigc_platform.core.errors import NotFound
from models_layer.moderation import matching
from models_layer.moderation.classifier import DEFAULT_BLOCKED_LABELS, classify_in_process
from models_layer.moderation.matching import Verdict
from models_layer.moderation.models import ModerationPolicy, PolicyKind
from models_layer.registry import selectors as registry_selectors

AUDIT_ACTION = "content.blocked"


def policies_all() -> QuerySet[ModerationPolicy]:
    return ModerationPolicy.objects.select_related("classifier", "created_by").order_by("name")


def policy_get(*, name: str) -> ModerationPolicy:
    try:
        return policies_all().get(name=name)
    except ModerationPolicy.DoesNotExist:
        raise NotFound(gettext("No moderation policy named %(name)s.") % {"name": name}) from None


def policies_enabled(*, direction: str) -> list[ModerationPolicy]:
    """The enabled policies that look at `direction` ("input" or "output"), in a stable order."""
    return [policy for policy in policies_all().filter(enabled=True) if policy.looks_at(direction)]


def default_word_lists() -> dict[str, list[str]]:
    """The deployment's default word list per language (settings.MODERATION_BLOCKED_TERMS); always on."""
    return {language: list(terms) for language, terms in settings.MODERATION_BLOCKED_TERMS.items()}


def blocked_terms(*, text: str) -> list[str]:
    """The terms of every word list (the default one and the enabled word-list policies) found in
    `text`. Every language's list applies: a Chinese slur in an English request is still a slur."""
    found: set[str] = set()
    for terms in default_word_lists().values():
        found.update(matching.words_found(terms, text))
    for policy in ModerationPolicy.objects.filter(enabled=True, kind=PolicyKind.WORDS).only("terms"):
        found.update(matching.words_found(policy.terms, text))
    return sorted(found)


def stream_hold_chars(*, policies: list[ModerationPolicy]) -> int:
    """How many characters at the end of a text being written a stream holds back: the longest term
    (so no part of a blocked term is sent before it is whole), and at least REGEX_HOLD_CHARS with a
    pattern policy (whose matches may be longer: of those, the beginning may be sent)."""
    lists = [*default_word_lists().values(), *(p.terms for p in policies if p.kind == PolicyKind.WORDS)]
    hold = matching.words_longest(lists)
    if any(p.kind == PolicyKind.REGEX for p in policies):
        hold = max(hold, matching.REGEX_HOLD_CHARS)
    return hold


def fast_verdicts(
    *, text: str, policies: list[ModerationPolicy], words_from: int = 0, settled: bool = False
) -> list[Verdict]:
    """The word lists and patterns that fire on `text`. For a text still being written: `words_from`,
    where the word lists last looked (they look only after it), and `settled`, so that a word that
    may still go on does not count yet (patterns always read the whole text)."""
    verdicts = []
    default = sorted(
        {
            t
            for terms in default_word_lists().values()
            for t in matching.words_found(terms, text, start=words_from, settled=settled)
        }
    )
    if default:
        verdicts.append(Verdict(policy=matching.DEFAULT_WORDS, kind=PolicyKind.WORDS, matches=tuple(default)))
    for policy in policies:
        if policy.kind == PolicyKind.WORDS:
            found = matching.words_found(policy.terms, text, start=words_from, settled=settled)
            if found:
                verdicts.append(
                    Verdict(policy=policy.name, kind=policy.kind, policy_id=policy.pk, matches=tuple(found))
                )
        elif policy.kind == PolicyKind.REGEX:
            found, timed_out = matching.pattern_found(policy.pattern, text, settled=settled)
            if found or timed_out:
                note = f"the pattern ran past its {matching.REGEX_TIMEOUT_SECONDS} s limit" if timed_out else ""
                verdicts.append(
                    Verdict(policy=policy.name, kind=policy.kind, policy_id=policy.pk, matches=tuple(found), note=note)
                )
    return verdicts


def classifier_verdict(*, policy: ModerationPolicy, label: str) -> Verdict | None:
    """What a classifier's answer means under its policy: a verdict when the label blocks (or is not one of its labels)."""
    blocked = policy.blocked_labels or DEFAULT_BLOCKED_LABELS
    if label in policy.labels and label not in blocked:
        return None
    note = "" if label in policy.labels else f"the classifier answered no label of {policy.labels} ({label!r})"
    return Verdict(policy=policy.name, kind=policy.kind, policy_id=policy.pk, label=label or "?", note=note)


def moderation_scan(
    *, text: str, direction: str, classify: bool = False, policies: list[ModerationPolicy] | None = None
) -> list[Verdict]:
    """Every policy that fires on `text` ([] when it is clean). Word lists and patterns always run;
    classifier policies only with `classify` (they run a generator here, in this process: a worker)
    and only when nothing cheaper fired."""
    policies = policies_enabled(direction=direction) if policies is None else policies
    verdicts = fast_verdicts(text=text, policies=policies)
    if verdicts or not classify or not (text or "").strip():
        return verdicts
    for policy in policies:
        if policy.kind != PolicyKind.CLASSIFIER:
            continue
        version = registry_selectors.generator_production_version(generator=policy.classifier)
        label = classify_in_process(version=version, instructions=policy.instructions, labels=policy.labels, text=text)
        verdict = classifier_verdict(policy=policy, label=label)
        if verdict is not None:
            return [verdict]
    return []


def blocks_recent(*, limit: int = 50) -> QuerySet[AuditEvent]:
    """The latest blocks, newest first (the audit log's `content.blocked` events)."""
    return AuditEvent.objects.filter(action=AUDIT_ACTION).select_related("actor").order_by("-created_at")[:limit]
