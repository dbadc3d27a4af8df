"""How each kind of policy finds blocked content in a text, and what a finding (a Verdict) records.

Plain functions over policies and text; the services decide what a finding does (refuse, withhold,
audit). Regular expressions run in the `regex` module with a time limit: Python's `re` has none, and
a pattern such as `(\\w+\\s?)+$` took 6.4 s on 25 characters under `re` (measured on this machine;
the `regex` module answered it in under 1 ms and stopped at its limit on a 5,000-character probe).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import regex

# What one search of one pattern may take; a search that runs out blocks the text (fail closed) and
# says so in the audit record.
REGEX_TIMEOUT_SECONDS = 0.1
PATTERN_MAX_CHARS = 500
# What a stream holds back at least while a pattern policy is on (see moderation.services).
REGEX_HOLD_CHARS = 32
TERM_MAX_CHARS = 64
TERMS_MAX = 5000
# Texts a saved pattern must get through within the limit: the shapes that make backtracking blow up
# (a long run of one character, words and spaces, then a character that defeats the match).
PATTERN_PROBES = ("a" * 5000 + "!", "ab " * 2000 + "!", "1" * 5000 + "x", "a\n" * 2000 + "\t")
DEFAULT_WORDS = "default-word-list"  # settings.MODERATION_BLOCKED_TERMS, as a policy name


@dataclass(frozen=True)
class Verdict:
    """One policy that fired on one text: which (id None for the settings' word list), and what it found."""

    policy: str
    kind: str
    policy_id: int | None = None
    matches: tuple[str, ...] = ()
    label: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        found = {"id": self.policy_id, "name": self.policy, "kind": self.kind, "matches": list(self.matches)}
        if self.label:
            found["label"] = self.label
        if self.note:
            found["note"] = self.note
        return found

    def reason(self) -> str:
        if self.label:
            return f"labelled {self.label!r} by the classifier policy {self.policy}"
        if self.note:
            return f"{self.note} (policy {self.policy})"
        return f"{', '.join(self.matches)} (policy {self.policy})"


@lru_cache(maxsize=64)
def _words_matcher(terms: tuple[str, ...]) -> re.Pattern | None:
    parts = []
    for term in terms:
        escaped = re.escape(term.strip().lower())
        if not escaped:
            continue
        # Whole words for scripts with spaces; a CJK term is found anywhere.
        parts.append(rf"(?<!\w){escaped}(?!\w)" if term.isascii() else escaped)
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def words_found(terms: list[str] | tuple[str, ...], text: str, *, start: int = 0, settled: bool = False) -> list[str]:
    """The terms of a list found in `text`: Latin-script terms as whole words in any case, others anywhere.
    `start`: only matches that end after it (a stream's new text; earlier ones were looked at before).
    `settled`: a text still being written, whose last word may go on ("shit" may become "shitake"), so
    a match that reaches its end does not count yet."""
    matcher = _words_matcher(tuple(terms))
    if matcher is None or not text:
        return []
    window = max(0, start - TERM_MAX_CHARS - 1)  # a term ending after `start` begins at most this far before it
    found = set()
    for match in matcher.finditer(text, window):
        if settled and match.end() == len(text):
            continue
        found.add(match.group(0).lower())
    return sorted(found)


def words_longest(lists) -> int:
    """The characters of the longest term of the lists."""
    return max((len(term) for terms in lists for term in terms), default=0)


@lru_cache(maxsize=256)
def pattern_compiled(pattern: str) -> regex.Pattern:
    return regex.compile(pattern)


def pattern_problem(pattern: str) -> str | None:
    """Why a pattern may not be saved (too long, does not compile, too slow on the probes), or None."""
    if not pattern.strip():
        return "Give a pattern."
    if len(pattern) > PATTERN_MAX_CHARS:
        return f"At most {PATTERN_MAX_CHARS} characters."
    try:
        compiled = regex.compile(pattern)
    except regex.error as error:
        return f"Not a valid regular expression: {error}."
    if compiled.search(""):
        return "It matches the empty text, so it would block everything."
    for probe in PATTERN_PROBES:
        try:
            compiled.search(probe, timeout=REGEX_TIMEOUT_SECONDS)
        except TimeoutError:
            return (
                f"It takes longer than {REGEX_TIMEOUT_SECONDS} s on a {len(probe)}-character probe "
                "(catastrophic backtracking): simplify nested repetition such as (a+)+."
            )
    return None


def pattern_found(pattern: str, text: str, *, settled: bool = False) -> tuple[list[str], bool]:
    """(the distinct matches, whether the search ran out of time); `settled` as for words_found."""
    text = text or ""
    try:
        matches = [
            m.group(0)
            for m in pattern_compiled(pattern).finditer(text, timeout=REGEX_TIMEOUT_SECONDS)
            if not (settled and m.end() == len(text))
        ]
    except TimeoutError:
        return [], True
    return sorted({match for match in matches if match}), False


def terms_problem(terms: Any) -> str | None:
    if not isinstance(terms, list) or not terms:
        return "Give a list of words or phrases."
    if len(terms) > TERMS_MAX:
        return f"At most {TERMS_MAX} terms."
    for term in terms:
        if not isinstance(term, str) or not term.strip():
            return "Each term is a non-empty text."
        if len(term) > TERM_MAX_CHARS:
            return f"{term[:20]!r}…: at most {TERM_MAX_CHARS} characters a term."
    return None
