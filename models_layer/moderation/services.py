"""Writes for moderation: the one content filter every way in and out calls, the record of each block
(audit action `content.blocked`, naming the policy that fired, where, and who), and the policies that
operators and admins manage.

Ways in: `moderation_inputs_check` refuses a request whose fields or messages a policy blocks
(ContentBlocked, a 400; /v1/ answers it as OpenAI's error object). Call it outside any transaction, so
that a rollback does not take the block's audit record with it.

Ways out: `output_guard` stands in for a job's context while a generator writes. What it writes
reaches the job's live stream (the playground, `/v1/` streaming, the job events API) only once
checked: as many characters as the longest blocked term are held back (at least 32 with a pattern
policy) and the text so far is checked before each release, so no part of a blocked word or phrase
leaves, and of a regex match longer than the hold at most its beginning does. A word at the very end
counts once the next character shows it is whole ("shit" may yet become "shitake"). When a policy fires, nothing more is released, the generation
is stopped, and the answer ends with finish_reason "content_filter" and only the text released before.
With a classifier policy on outputs nothing is released until the whole answer is written and
classified: streaming then arrives in one piece at the end.
"""

import logging
from dataclasses import replace
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext

from aigc_platform.audit.services import audit_record
from aigc_platform.core.errors import ApplicationError, Conflict, ServiceUnavailable
from infrastructure.compute.models import Job, JobStatus
from infrastructure.compute.selectors import jobs_wait_ended
from infrastructure.compute.services import job_submit
from models_layer.moderation import matching, selectors
from models_layer.moderation.classifier import DEFAULT_BLOCKED_LABELS, DEFAULT_LABELS, TEXT_MAX_CHARS
from models_layer.moderation.matching import Verdict
from models_layer.moderation.models import AppliesTo, ModerationPolicy, PolicyKind
from models_layer.registry.models import GeneratorKind, Stage

logger = logging.getLogger(__name__)

AUDIT_ACTION = selectors.AUDIT_ACTION
CLASSIFY_JOB_KIND = "moderation-classify"
# How long a request waits for a classifier policy's label of its input (a job on the generation
# queue); past it the request is refused with a 503 rather than let through unchecked.
CLASSIFIER_WAIT_SECONDS = 120


class ContentBlocked(ApplicationError):
    code = "content_blocked"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, verdicts: list[Verdict] = ()):
        super().__init__(message, fields=fields)
        self.verdicts = list(verdicts)


class ClassifierUnavailable(ServiceUnavailable):
    code = "moderation_unavailable"


# Blocks ---------------------------------------------------------------------------------------


def moderation_block_record(
    *,
    user,
    verdicts: list[Verdict],
    surface: str,
    direction: str,
    language: str = "",
    target=None,
    fields: list[str] | None = None,
) -> None:
    """Audit one block: the policies that fired (the first is `policy`), where (`surface` and
    `direction`, together `where` as "<surface> <direction>"), the terms a word list found, and who."""
    detail: dict[str, Any] = {
        "where": f"{surface} {direction}",
        "surface": surface,
        "direction": direction,
        "policy": verdicts[0].policy if verdicts else "",
        "policies": [verdict.as_dict() for verdict in verdicts],
        "terms": sorted({m for v in verdicts if v.kind == PolicyKind.WORDS for m in v.matches}),
        "language": language,
    }
    if fields:
        detail["fields"] = fields
    audit_record(action=AUDIT_ACTION, actor=user, target=target, detail=detail)


def _texts(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict):  # a chat message
        return _texts(value.get("content"))
    return [str(value)]


def _merged(verdicts: list[Verdict]) -> list[Verdict]:
    """One verdict per policy, its matches in all the fields together."""
    by_policy: dict[str, Verdict] = {}
    for verdict in verdicts:
        seen = by_policy.get(verdict.policy)
        if seen is None:
            by_policy[verdict.policy] = verdict
        else:
            by_policy[verdict.policy] = replace(seen, matches=tuple(sorted({*seen.matches, *verdict.matches})))
    return list(by_policy.values())


def _classify_by_job(*, user, policy: ModerationPolicy, text: str) -> Verdict | None:
    """A classifier's label of an input, asked from the web process: a job on the generation queue,
    where the runtime and its models live, waited for."""
    job = job_submit(owner=user, kind=CLASSIFY_JOB_KIND, params={"policy": policy.pk, "text": text[:TEXT_MAX_CHARS]})
    [job] = jobs_wait_ended(jobs=[job], timeout=CLASSIFIER_WAIT_SECONDS)
    if job.status != JobStatus.SUCCEEDED:
        raise ClassifierUnavailable(
            gettext("The content classifier %(policy)s did not answer (%(status)s); try again later.")
            % {"policy": policy.name, "status": job.error or job.status}
        )
    return selectors.classifier_verdict(policy=policy, label=job.result.get("label", ""))


def moderation_inputs_check(*, user, fields: dict[str, Any], surface: str, language: str = "", target=None) -> None:
    """Refuse a request whose fields (texts, lists of texts, or chat messages) a policy blocks:
    ContentBlocked (400) naming each blocked field and why, after recording the block."""
    policies = selectors.policies_enabled(direction="input")
    problems: dict[str, list[str]] = {}
    fired: list[Verdict] = []
    for name, value in fields.items():
        text = "\n".join(_texts(value))
        verdicts = selectors.moderation_scan(text=text, direction="input", policies=policies)
        if verdicts:
            problems[name] = [
                gettext("Contains blocked content: %(found)s.") % {"found": "; ".join(v.reason() for v in verdicts)}
            ]
            fired = _merged(fired + verdicts)
    if not problems:
        # A classifier reads the request's fields together: one generation per classifier policy.
        filled = {name: "\n".join(_texts(value)) for name, value in fields.items()}
        filled = {name: text for name, text in filled.items() if text.strip()}
        for policy in policies:
            if policy.kind != PolicyKind.CLASSIFIER or not filled:
                continue
            verdict = _classify_by_job(user=user, policy=policy, text="\n\n".join(filled.values()))
            if verdict is not None:
                fired.append(verdict)
                problems = {name: [gettext("Blocked: %(reason)s.") % {"reason": verdict.reason()}] for name in filled}
                break
    if problems:
        moderation_block_record(
            user=user,
            verdicts=fired,
            surface=surface,
            direction="input",
            language=language,
            target=target,
            fields=sorted(problems),
        )
        raise ContentBlocked(
            gettext("The request was blocked by the content filter; rephrase the marked fields."),
            fields=problems,
            verdicts=fired,
        )


class OutputGuard:
    """Stands in for a job's context inside `generate_text`: text pieces reach the job's stream only
    once checked (see the module's docstring); everything else a JobContext offers is the job's own.
    `stop_early` tells the runtime to stop generating (a policy fired)."""

    def __init__(self, ctx, *, surface: str, policies: list[ModerationPolicy], stops: bool = True):
        self.ctx = ctx
        # False: a caller that checks (and records) the finished answer itself only needs the stream
        # kept clean; the writing goes on, and nothing after the first hit is shown (see release_rest).
        self.stops = stops
        self.surface = surface
        self.policies = policies
        self.whole = any(p.kind == PolicyKind.CLASSIFIER for p in policies)
        self.hold = selectors.stream_hold_chars(policies=policies)
        self.text = ""
        self.released = 0
        self.looked = 0  # where the word lists last looked
        self.verdicts: list[Verdict] = []
        self.stop_early = False

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        if event_type != "token":
            self.ctx.emit(event_type, data)
            return
        if self.stop_early:
            return
        self.text += data.get("text", "")
        if self.verdicts:
            return
        cut = len(self.text) - self.hold
        if self.whole or cut <= self.released:
            return
        verdicts = selectors.fast_verdicts(text=self.text, policies=self.policies, words_from=self.looked, settled=True)
        self.looked = len(self.text)
        if verdicts:
            self.verdicts, self.stop_early = verdicts, self.stops
            return
        self._release(self.text[self.released : cut])

    def _release(self, piece: str) -> None:
        if piece:
            self.ctx.emit("token", {"text": piece})
            self.released += len(piece)

    def check_cancelled(self) -> None:
        self.ctx.check_cancelled()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ctx, name)

    def release_rest(self) -> None:
        """The end of a stream whose caller checks the finished answer itself (`stops=False`): what was
        held back goes out unless a word list or pattern fires on the whole text."""
        if not self.verdicts and not selectors.fast_verdicts(text=self.text, policies=self.policies):
            self._release(self.text[self.released :])

    def finish(self, result: dict[str, Any]) -> dict[str, Any]:
        """The answer to keep: `result` once its whole text passed (the rest of it released now), or
        what was released before a policy fired, with finish_reason "content_filter" (recorded)."""
        if not self.verdicts:
            self.verdicts = selectors.moderation_scan(
                text=result["text"], direction="output", classify=True, policies=self.policies
            )
        if not self.verdicts:
            self._release(result["text"][self.released :])
            return result
        user = get_user_model().objects.filter(pk=self.ctx.owner_id).first()
        moderation_block_record(
            user=user,
            verdicts=self.verdicts,
            surface=self.surface,
            direction="output",
            target=Job.objects.filter(pk=self.ctx.job_id).first(),
        )
        kept = {key: value for key, value in result.items() if key != "json"}
        return {
            **kept,
            "text": self.text[: self.released],
            "finish_reason": "content_filter",
            # Which policy, not what it found: the blocked text stays in the audit log.
            "moderation": {"policy": self.verdicts[0].policy, "kind": self.verdicts[0].kind},
        }


def output_guard(*, ctx, surface: str, stops: bool = True) -> OutputGuard:
    """The guard a `generate` job writes through (ctx: its JobContext); `stops=False` for a writer that
    checks and records its finished answers itself (the applications), whose live preview it keeps clean."""
    return OutputGuard(ctx, surface=surface, policies=selectors.policies_enabled(direction="output"), stops=stops)


def moderation_classify(*, policy_id: int, text: str) -> dict[str, Any]:
    """A classifier policy's label of `text`, here (the `moderation-classify` job)."""
    from models_layer.moderation.classifier import classify_in_process
    from models_layer.registry.selectors import generator_production_version

    policy = ModerationPolicy.objects.select_related("classifier").get(pk=policy_id)
    version = generator_production_version(generator=policy.classifier)
    label = classify_in_process(version=version, instructions=policy.instructions, labels=policy.labels, text=text)
    return {"policy": policy.name, "label": label, "generator": version.generator.slug, "version": version.number}


# Policies -------------------------------------------------------------------------------------

POLICY_FIELDS = (
    "name",
    "kind",
    "description",
    "enabled",
    "applies_to",
    "language",
    "terms",
    "pattern",
    "classifier",
    "instructions",
    "labels",
    "blocked_labels",
)


def moderation_policy_validate(values: dict[str, Any]) -> dict[str, Any]:
    """The policy's fields as its kind needs them; ApplicationError (400) naming each field that is wrong."""
    kind = values.get("kind")
    problems: dict[str, list[str]] = {}
    if kind == PolicyKind.WORDS:
        terms = values.get("terms")
        if isinstance(terms, list):
            values["terms"] = [term.strip() if isinstance(term, str) else term for term in terms]
        if problem := matching.terms_problem(values.get("terms")):
            problems["terms"] = [problem]
    elif kind == PolicyKind.REGEX:
        if problem := matching.pattern_problem(values.get("pattern") or ""):
            problems["pattern"] = [problem]
    elif kind == PolicyKind.CLASSIFIER:
        generator = values.get("classifier")
        if generator is None:
            problems["classifier"] = ["Name a registered text generator."]
        elif generator.kind != GeneratorKind.TEXT:
            problems["classifier"] = [f"{generator.slug} is not a text generator."]
        elif not generator.versions.filter(stage=Stage.PRODUCTION).exists():
            problems["classifier"] = [f"{generator.slug} has no production version to classify with."]
        values["labels"] = values.get("labels") or list(DEFAULT_LABELS)
        values["blocked_labels"] = values.get("blocked_labels") or list(DEFAULT_BLOCKED_LABELS)
        labels = values["labels"]
        if len(set(labels)) < 2 or not all(isinstance(label, str) and label.strip() for label in labels):
            problems["labels"] = ["At least two different, non-empty labels."]
        elif not set(values["blocked_labels"]) <= set(labels):
            problems["blocked_labels"] = ["Each blocking label is one of `labels`."]
    else:
        problems["kind"] = [f"One of {', '.join(PolicyKind.values)}."]
    if values.get("applies_to", AppliesTo.BOTH) not in AppliesTo.values:
        problems["applies_to"] = [f"One of {', '.join(AppliesTo.values)}."]
    if problems:
        raise ApplicationError(gettext("The moderation policy is invalid."), fields=problems)
    # What another kind would read is cleared, so a policy never carries a stale rule.
    if kind != PolicyKind.WORDS:
        values["terms"] = []
    if kind != PolicyKind.REGEX:
        values["pattern"] = ""
    if kind != PolicyKind.CLASSIFIER:
        values.update(classifier=None, instructions="", labels=[], blocked_labels=[])
    return values


def _policy_audit(*, user, action: str, policy: ModerationPolicy) -> None:
    audit_record(
        action=f"moderation.policy.{action}",
        actor=user,
        target=policy,
        detail={"name": policy.name, "kind": policy.kind, "enabled": policy.enabled, "applies_to": policy.applies_to},
    )


def moderation_policy_create(*, user, **values: Any) -> ModerationPolicy:
    if ModerationPolicy.objects.filter(name=values.get("name")).exists():
        raise Conflict(
            gettext("A moderation policy named %(name)s exists already.") % {"name": values.get("name")},
            fields={"name": ["Taken."]},
        )
    values = moderation_policy_validate({key: value for key, value in values.items() if key in POLICY_FIELDS})
    with transaction.atomic():
        policy = ModerationPolicy.objects.create(created_by=user, **values)
        _policy_audit(user=user, action="create", policy=policy)
    return policy


def moderation_policy_update(*, user, policy: ModerationPolicy, **changes: Any) -> ModerationPolicy:
    """Change a policy (its kind included); the result is validated as a whole."""
    current = {name: getattr(policy, name) for name in POLICY_FIELDS}
    values = moderation_policy_validate({**current, **{k: v for k, v in changes.items() if k in POLICY_FIELDS}})
    if values["name"] != policy.name and ModerationPolicy.objects.filter(name=values["name"]).exists():
        raise Conflict(
            gettext("A moderation policy named %(name)s exists already.") % {"name": values["name"]},
            fields={"name": ["Taken."]},
        )
    with transaction.atomic():
        for name, value in values.items():
            setattr(policy, name, value)
        policy.save()
        _policy_audit(user=user, action="update", policy=policy)
    return policy


def moderation_policy_delete(*, user, policy: ModerationPolicy) -> None:
    with transaction.atomic():
        _policy_audit(user=user, action="delete", policy=policy)
        policy.delete()
