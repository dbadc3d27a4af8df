"""The preparation steps a dataset version goes through before training: cleaning, PII, augmentation
and splits. Each step reads the entries of one version and says what the next version holds:

    outcome = STEPS["clean"](entries, params, progress)
    outcome.entries   # what is kept: Entry rows (an existing item) or NewItem rows (to be stored)
    outcome.report    # per rule: how many items it removed or changed, with a few examples

The steps know nothing of storage or jobs (services.dataset_prepare_run reads, stores and records);
they call `progress(fraction, message)` between chunks, which is where a cancelled job stops.
Nothing is removed without being counted: every rule that drops an item adds it to its own count.
"""

import functools
import hashlib
import io
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import imagehash
import numpy as np
from datasketch import MinHash, MinHashLSH
from django.utils.translation import gettext
from PIL import Image, ImageEnhance, ImageOps, UnidentifiedImageError

from aigc_platform.core.errors import ApplicationError
from tools_layer.datasets import pii
from tools_layer.datasets.ingest import pair_bytes
from tools_layer.datasets.models import DatasetKind, Split
from tools_layer.quality.checks import CJK, detect_language, real_word_share, repeated_ngram_share, task_talk
from tools_layer.quality.terms import blocked_terms

# Items between two progress reports (each may stop a cancelled job): about a second of cleaning.
CHUNK = 1000
EXAMPLES_PER_RULE = 5
PREVIEW_PAIRS = 10
EXAMPLE_CHARS = 200
# Word 3-grams (characters 5-grams in Chinese) are the shingles whose sets MinHash compares: short
# enough that a changed word changes few of them, long enough that unrelated texts share few.
SHINGLE_WORDS = 3
SHINGLE_CHARS = 5
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W\d_]+|\d+")

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Entry:
    """An item of the version being read, with its content (text, pair or image bytes)."""

    item_id: int
    sha256: str
    label: str
    split: str
    augmented: bool
    pii_scanned: bool
    content: object
    source_item: int | None = None  # what an augmented item was made from


@dataclass(frozen=True)
class NewItem:
    """Content a step made (a redacted text, an augmentation), stored as a new item by the service."""

    content: object
    label: str
    split: str
    augmented: bool = False
    pii_scanned: bool = False
    source_item: int | None = None


@dataclass
class Outcome:
    entries: list = field(default_factory=list)  # Entry | NewItem
    report: dict = field(default_factory=dict)
    pii_scanned: bool = False
    split: dict | None = None  # the split step's fractions, seed and whether it stratified


class Report:
    """Counts and a few examples per rule."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.examples: dict[str, list] = defaultdict(list)

    def add(self, rule: str, example: dict, amount: int = 1) -> None:
        self.counts[rule] += amount
        if len(self.examples[rule]) < EXAMPLES_PER_RULE:
            self.examples[rule].append(example)

    def as_dict(self, **extra) -> dict:
        return {
            "rules": {
                rule: {"count": count, "examples": self.examples.get(rule, [])} for rule, count in self.counts.items()
            },
            **extra,
        }


def text_of(content) -> str:
    """The text a rule reads: a text item's text, or a preference pair's prompt and both answers."""
    if isinstance(content, dict):
        return "\n".join(content[key] for key in ("prompt", "a", "b"))
    return content


def _example(entry: Entry, detail: str = "") -> dict:
    text = entry.content if isinstance(entry.content, bytes) else text_of(entry.content)
    preview = f"{len(text)} bytes" if isinstance(text, bytes) else text[:EXAMPLE_CHARS]
    return {"item": entry.item_id, "preview": preview, "detail": detail}


def _chunks(entries: list, progress: Progress, message: str, start: float = 0.0, share: float = 1.0):
    for offset in range(0, len(entries), CHUNK):
        progress(start + share * offset / max(len(entries), 1), f"{message}: {offset} of {len(entries)}")
        yield entries[offset : offset + CHUNK]


def tokens(text: str) -> list[str]:
    """Words of Latin-script text, single Han characters, and numbers: what a length in tokens counts."""
    return _TOKEN.findall(text)


# Cleaning: text


def _shingles(text: str) -> set[bytes]:
    lowered = text.lower()
    if CJK.search(lowered):
        compact = re.sub(r"\s+", "", lowered)
        grams = {compact[i : i + SHINGLE_CHARS] for i in range(max(len(compact) - SHINGLE_CHARS + 1, 1))}
    else:
        words = _TOKEN.findall(lowered)
        grams = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(len(words) - SHINGLE_WORDS + 1, 1))}
    return {gram.encode() for gram in grams}


class NearDuplicates:
    """MinHash signatures in an LSH index (datasketch): an item whose estimated Jaccard similarity to
    an item kept before it reaches `threshold` is a near-duplicate of that item."""

    def __init__(self, *, threshold: float, num_perm: int, seed: int = 1):
        self.threshold, self.num_perm, self.seed = threshold, num_perm, seed
        self.index = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.kept: dict[str, MinHash] = {}
        # One permutation set for every signature: MinHash(seed=…) would draw it again for each item.
        self._template = MinHash(num_perm=num_perm, seed=seed)

    def signature(self, text: str) -> MinHash:
        minhash = self._template.copy()
        minhash.update_batch(list(_shingles(text)))
        return minhash

    def duplicate_of(self, key: str, text: str) -> str | None:
        minhash = self.signature(text)
        for candidate in self.index.query(minhash):
            if self.kept[candidate].jaccard(minhash) >= self.threshold:
                return candidate
        self.index.insert(key, minhash)
        self.kept[key] = minhash
        return None


def _text_rules(params: dict) -> list[tuple[str, Callable[[str], str | None]]]:
    """The per-item rules asked for, in order, each a function of the text that names why it fails."""
    rules: list[tuple[str, Callable[[str], str | None]]] = []
    # The language and quality rules both need the text's language: detected once per text.
    language_of = functools.lru_cache(maxsize=2)(detect_language)
    length = params.get("length") or {}
    if length.get("min") is not None or length.get("max") is not None:
        unit, low, high = length.get("unit", "chars"), length.get("min"), length.get("max")

        def length_rule(text: str) -> str | None:
            size = len(tokens(text)) if unit == "tokens" else len(text)
            if low is not None and size < low:
                return f"{size} {unit}, under {low}"
            if high is not None and size > high:
                return f"{size} {unit}, over {high}"
            return None

        rules.append(("length", length_rule))
    languages = set(params.get("languages") or [])
    if languages:

        def language_rule(text: str) -> str | None:
            found = language_of(text)
            return None if found in languages else f"language {found or 'unknown'}"

        rules.append(("language", language_rule))
    quality = params.get("quality") or {}
    if quality:
        min_real, max_repeated = quality.get("min_real_word_share"), quality.get("max_repeated_ngram_share")
        check_task_talk = quality.get("task_talk", False)

        def quality_rule(text: str) -> str | None:
            language = language_of(text) or ("zh" if CJK.search(text) else "en")
            if min_real is not None:
                share = real_word_share(text, language)
                if share < min_real:
                    return f"real words {share:.2f} < {min_real}"
            if max_repeated is not None:
                share = repeated_ngram_share(text, language=language)
                if share > max_repeated:
                    return f"repeated 3-grams {share:.2f} > {max_repeated}"
            if check_task_talk and (phrase := task_talk(text)):
                return f"talks about the task: {phrase!r}"
            return None

        rules.append(("quality", quality_rule))
    if params.get("blocked_terms"):

        def blocked_rule(text: str) -> str | None:
            found = blocked_terms(text=text)
            return f"blocked terms: {', '.join(found)}" if found else None

        rules.append(("blocked_terms", blocked_rule))
    return rules


def clean_text(entries: list[Entry], params: dict, progress: Progress) -> Outcome:
    rules = _text_rules(params)
    near = params.get("near_duplicates") or {}
    finder = (
        NearDuplicates(threshold=near.get("threshold", 0.8), num_perm=near.get("num_perm", 128))
        if near.get("enabled")
        else None
    )
    report, kept = Report(), []
    for chunk in _chunks(entries, progress, "Cleaning"):
        for entry in chunk:
            text = text_of(entry.content)
            for rule, check in rules:
                if (reason := check(text)) is not None:
                    report.add(rule, _example(entry, reason))
                    break
            else:
                if finder is not None and (original := finder.duplicate_of(str(entry.item_id), text)) is not None:
                    report.add("near_duplicates", _example(entry, f"near-duplicate of item {original}"))
                    continue
                kept.append(entry)
    return Outcome(entries=kept, report=report.as_dict(read=len(entries), kept=len(kept)))


# Cleaning: images


def _image_problem(data: bytes, min_width: int, min_height: int) -> tuple[str, str] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        return "corrupt", f"cannot be decoded: {error}"
    if width < min_width or height < min_height:
        return "too_small", f"{width}x{height}, under {min_width}x{min_height}"
    return None


def clean_images(entries: list[Entry], params: dict, progress: Progress) -> Outcome:
    min_width, min_height = params.get("min_width", 0), params.get("min_height", 0)
    near = params.get("near_duplicates") or {}
    max_distance = near.get("max_distance", 4) if near.get("enabled") else None
    report, kept, seen = Report(), [], {}
    kept_hashes: list[int] = []
    kept_ids: list[int] = []
    for chunk in _chunks(entries, progress, "Cleaning images"):
        for entry in chunk:
            if (problem := _image_problem(entry.content, min_width, min_height)) is not None:
                report.add(problem[0], _example(entry, problem[1]))
                continue
            if params.get("exact_duplicates", True) and entry.sha256 in seen:
                report.add("exact_duplicates", _example(entry, f"same bytes as item {seen[entry.sha256]}"))
                continue
            seen[entry.sha256] = entry.item_id
            if max_distance is not None:
                with Image.open(io.BytesIO(entry.content)) as image:
                    value = int(str(imagehash.phash(image)), 16)
                if kept_hashes:
                    # Hamming distances to every kept hash at once: popcount of the XOR.
                    xor = np.bitwise_xor(np.array(kept_hashes, dtype=np.uint64), np.uint64(value))
                    distances = np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
                    nearest = int(distances.argmin())
                    if distances[nearest] <= max_distance:
                        report.add(
                            "near_duplicates",
                            _example(
                                entry, f"perceptual hash {int(distances[nearest])} bits from item {kept_ids[nearest]}"
                            ),
                        )
                        continue
                kept_hashes.append(value)
                kept_ids.append(entry.item_id)
            kept.append(entry)
    return Outcome(entries=kept, report=report.as_dict(read=len(entries), kept=len(kept)))


def clean(entries, params, progress, *, kind, context=None) -> Outcome:
    return (clean_images if kind == DatasetKind.IMAGE else clean_text)(entries, params, progress)


# PII


def _redacted(content, kinds: frozenset[str]) -> tuple[object, Counter]:
    if isinstance(content, dict):
        found, redacted = Counter(), {}
        for key, value in content.items():
            findings = pii.find_pii(value, kinds=kinds)
            found += pii.count_kinds(findings)
            redacted[key] = pii.redact(value, findings) if findings else value
        return redacted, found
    findings = pii.find_pii(content, kinds=kinds)
    return (pii.redact(content, findings) if findings else content), pii.count_kinds(findings)


def scan_pii(entries: list[Entry], params: dict, progress: Progress, *, kind, context=None) -> Outcome:
    if kind == DatasetKind.IMAGE:
        raise ApplicationError(
            gettext("The PII scan reads text; an image dataset has none to scan."),
            code="wrong_kind",
            fields={"step": [gettext("Pick a text or preference dataset.")]},
        )
    kinds = frozenset(params.get("kinds") or pii.KINDS)
    drop = params.get("action", "redact") == "drop"
    found_total: Counter = Counter()
    report, out = Report(), []
    for chunk in _chunks(entries, progress, "Scanning for personal data"):
        for entry in chunk:
            redacted, found = _redacted(entry.content, kinds)
            if not found:
                out.append(replace(entry, pii_scanned=True))
                continue
            found_total += found
            detail = ", ".join(f"{count} {name}" for name, count in sorted(found.items()))
            if drop:
                report.add(
                    "dropped", {"item": entry.item_id, "preview": text_of(redacted)[:EXAMPLE_CHARS], "detail": detail}
                )
                continue
            report.add(
                "redacted", {"item": entry.item_id, "preview": text_of(redacted)[:EXAMPLE_CHARS], "detail": detail}
            )
            # A redacted augmentation still names the item it was made from; any other redacted item, its original.
            out.append(
                NewItem(
                    content=redacted,
                    label=entry.label,
                    split=entry.split,
                    augmented=entry.augmented,
                    pii_scanned=True,
                    source_item=entry.source_item if entry.augmented else entry.item_id,
                )
            )
    return Outcome(
        entries=out,
        pii_scanned=True,
        report=report.as_dict(
            read=len(entries),
            kept=len(out),
            found={name: found_total.get(name, 0) for name in sorted(kinds)},
            action="drop" if drop else "redact",
        ),
    )


# Augmentation


def _split_words(text: str) -> tuple[list[str], str]:
    """Words and the string that joins them back: jieba's words with no space for Chinese."""
    if CJK.search(text):
        import jieba

        return [word for word in jieba.lcut(text) if word.strip()], ""
    return text.split(), " "


def eda(text: str, *, operations: list[str], rate: float, rng: random.Random) -> str:
    """EDA's simple edits (Wei and Zou, 2019) without a thesaurus: swap two words, delete words, or
    insert a copy of one of the text's own words at a random place (their synonym insertion needs
    WordNet, which is English-only and a download)."""
    words, joiner = _split_words(text)
    if len(words) < 2:
        return text
    edits = max(1, round(rate * len(words)))
    operation = rng.choice(operations)
    for _ in range(edits):
        if operation == "swap":
            a, b = rng.sample(range(len(words)), 2)
            words[a], words[b] = words[b], words[a]
        elif operation == "delete" and len(words) > 1:
            del words[rng.randrange(len(words))]
        elif operation == "insert":
            words.insert(rng.randrange(len(words) + 1), rng.choice(words))
    return joiner.join(words)


def augment_image(data: bytes, *, params: dict, rng: random.Random) -> bytes:
    """Flips, a crop, a rotation and colour jitter, each drawn from `rng` (so a seed repeats them).

    torchvision.transforms.v2 would be the library for this, but no torchvision wheel loads beside
    this platform's torch 2.13.0+cpu (PyPI's 0.28.0 links CUDA's libtorch_cuda and fails with
    "operator torchvision::nms does not exist"); these are the same transforms in Pillow."""
    with Image.open(io.BytesIO(data)) as source:
        image = source.convert("RGB") if source.mode not in ("L", "RGB") else source.copy()
    width, height = image.size
    if params.get("flip") and rng.random() < 0.5:
        image = ImageOps.mirror(image)
    if params.get("crop"):
        scale = rng.uniform(params.get("crop_scale", 0.8), 1.0)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        left, top = rng.randint(0, width - w), rng.randint(0, height - h)
        image = image.crop((left, top, left + w, top + h)).resize((width, height), Image.Resampling.BILINEAR)
    if degrees := params.get("rotate"):
        image = image.rotate(rng.uniform(-degrees, degrees), resample=Image.Resampling.BILINEAR)
    if jitter := params.get("jitter"):
        for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast):
            image = enhancer(image).enhance(rng.uniform(1 - jitter, 1 + jitter))
        if image.mode == "RGB":
            image = ImageEnhance.Color(image).enhance(rng.uniform(1 - jitter, 1 + jitter))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


PARAPHRASE_PROMPT = (
    "Rewrite the text below {count} times in {language_name}, keeping its meaning and its label "
    "({label}). Change the wording; do not add facts. Answer with JSON: "
    '{{"paraphrases": ["…", …]}}.\n\nText: {text}'
)
TRANSLATE_PROMPT = 'Translate the text into {target}. Answer with JSON: {{"translation": "…"}}.\n\nText: {text}'
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese", "fr": "French", "de": "German", "es": "Spanish", "ja": "Japanese"}


def _augmenter(kind: str, params: dict, context) -> Callable[[Entry, random.Random], list]:
    method = params.get("method", "eda")
    if kind == DatasetKind.IMAGE:
        if method != "image":
            raise ApplicationError(
                gettext('An image dataset is augmented with method "image".'),
                fields={"method": [gettext("Use image.")]},
            )
        return lambda entry, rng: [
            augment_image(entry.content, params=params, rng=rng) for _ in range(params.get("per_item", 1))
        ]
    if kind == DatasetKind.PREFERENCE:
        raise ApplicationError(
            gettext("Preference pairs are not augmented: an edit may change which answer is better."),
            code="wrong_kind",
            fields={"method": [gettext("Pick a text dataset.")]},
        )
    if method == "eda":
        operations = params.get("operations") or ["swap", "delete", "insert"]
        rate = params.get("rate", 0.1)
        return lambda entry, rng: [
            eda(entry.content, operations=operations, rate=rate, rng=rng) for _ in range(params.get("per_item", 1))
        ]
    if method == "paraphrase":
        return lambda entry, rng: context.paraphrase(entry.content, label=entry.label, count=params.get("per_item", 1))
    if method == "back_translation":
        pivot = params.get("pivot_language", "zh")
        return lambda entry, rng: [context.back_translate(entry.content, pivot=pivot)]
    raise ApplicationError(
        gettext("Unknown augmentation method %(method)r.") % {"method": method},
        fields={"method": [gettext("eda, paraphrase, back_translation or image.")]},
    )


# Generator answers that fail for one item (a paraphrase that ran past its token budget) and not for the run.
ITEM_ERRORS = {"incomplete_json"}


def augment(entries: list[Entry], params: dict, progress: Progress, *, kind, context=None) -> Outcome:
    """Every kept item, plus augmented copies of the train split's items (marked, and in train only:
    a copy of a validation or test item would leak it into training)."""
    make = _augmenter(kind, params, context)
    rng = random.Random(params.get("seed", 0))
    limit = params.get("max_items")
    report, out = Report(), list(entries)
    sources = [entry for entry in entries if entry.split == Split.TRAIN and not entry.augmented]
    if limit:
        sources = sources[:limit]
    for chunk in _chunks(sources, progress, "Augmenting"):
        for entry in chunk:
            try:
                made_items = make(entry, rng)
            except ApplicationError as error:
                # One answer the generator could not finish costs that item's copy, not the run.
                if error.code not in ITEM_ERRORS:
                    raise
                report.add("not_made", _example(entry, str(error)))
                continue
            for made in made_items:
                if not made or (isinstance(made, str) and not made.strip()) or made == entry.content:
                    report.add("unchanged", _example(entry, "the edit left it as it was"))
                    continue
                preview = f"{len(made)} bytes" if isinstance(made, bytes) else made[:EXAMPLE_CHARS]
                report.add("added", {"item": entry.item_id, "preview": preview, "detail": params.get("method", "eda")})
                out.append(
                    NewItem(
                        content=made,
                        label=entry.label,
                        split=Split.TRAIN,
                        augmented=True,
                        pii_scanned=entry.pii_scanned,
                        source_item=entry.item_id,
                    )
                )
    return Outcome(entries=out, report=report.as_dict(read=len(entries), sources=len(sources), kept=len(out)))


def preview_pairs(entries: list[Entry], params: dict, *, kind, context=None, step: str) -> list[dict]:
    """Up to PREVIEW_PAIRS before/after pairs of what a step would do, computed on the version's first items."""
    pairs: list[dict] = []
    if step == "augment":
        make, rng = _augmenter(kind, params, context), random.Random(params.get("seed", 0))
        for entry in [e for e in entries if e.split == Split.TRAIN and not e.augmented][:PREVIEW_PAIRS]:
            made = make(entry, rng)[:1]
            pairs.append({"item": entry.item_id, "before": entry.content, "after": made[0] if made else None})
    elif step == "pii":
        kinds = frozenset(params.get("kinds") or pii.KINDS)
        for entry in entries:
            redacted, found = _redacted(entry.content, kinds)
            if found:
                pairs.append(
                    {
                        "item": entry.item_id,
                        "before": entry.content,
                        "after": None if params.get("action") == "drop" else redacted,
                        "detail": dict(found),
                    }
                )
            if len(pairs) == PREVIEW_PAIRS:
                break
    elif step == "clean":
        outcome = clean(entries, params, lambda fraction, message: None, kind=kind)
        for rule, body in outcome.report["rules"].items():
            pairs.extend(
                {
                    "item": example["item"],
                    "before": example["preview"],
                    "after": None,
                    "detail": f"{rule}: {example['detail']}",
                }
                for example in body["examples"]
            )
        pairs = pairs[:PREVIEW_PAIRS]
    return pairs


# Splits


def split(entries: list[Entry], params: dict, progress: Progress, *, kind, context=None) -> Outcome:
    """Train, validation and test, seeded and stratified by label: within each label the items are
    ordered by content and shuffled by the seed, so the same items and seed give the same split.
    Augmented items, and the items they were made from, stay in train."""
    validation_fraction, test_fraction = params.get("validation_fraction", 0.1), params.get("test_fraction", 0.1)
    if validation_fraction < 0 or test_fraction < 0 or validation_fraction + test_fraction >= 1:
        raise ApplicationError(
            gettext("validation_fraction and test_fraction must be at least 0 and add up to less than 1."),
            fields={"test_fraction": [gettext("The two fractions must leave some items for training.")]},
        )
    seed = params.get("seed", 0)
    labelled = any(entry.label for entry in entries)
    stratify = params.get("stratify", True) and labelled
    sources = {entry.source_item for entry in entries if entry.augmented and entry.source_item is not None}

    def is_pinned(entry: Entry) -> bool:
        # An augmentation, what it was made from, or a redacted copy of what it was made from.
        return (
            entry.augmented
            or entry.item_id in sources
            or (entry.source_item is not None and entry.source_item in sources)
        )

    pinned = [entry for entry in entries if is_pinned(entry)]
    free = [entry for entry in entries if not is_pinned(entry)]
    groups: dict[str, list[Entry]] = defaultdict(list)
    for entry in free:
        groups[entry.label if stratify else ""].append(entry)
    assigned: dict[int, str] = {entry.item_id: Split.TRAIN for entry in pinned}
    for label in sorted(groups):
        members = sorted(groups[label], key=lambda entry: entry.sha256)
        random.Random(f"{seed}:{label}").shuffle(members)
        validation, test = round(len(members) * validation_fraction), round(len(members) * test_fraction)
        for index, entry in enumerate(members):
            assigned[entry.item_id] = (
                Split.VALIDATION if index < validation else Split.TEST if index < validation + test else Split.TRAIN
            )
    progress(0.9, "Split assigned")
    out = [replace(entry, split=assigned[entry.item_id]) for entry in entries]
    counts = Counter(entry.split for entry in out)
    return Outcome(
        entries=out,
        split={
            "seed": seed,
            "validation_fraction": validation_fraction,
            "test_fraction": test_fraction,
            "stratified": stratify,
        },
        report={
            "rules": {},
            "read": len(entries),
            "kept": len(out),
            "splits": dict(counts),
            "pinned_to_train": len(pinned),
            "stratified": stratify,
        },
    )


STEPS: dict[str, Callable[..., Outcome]] = {"clean": clean, "pii": scan_pii, "augment": augment, "split": split}


def content_sha256(kind: str, content) -> str:
    """The SHA-256 an item of this content gets when stored (ingest.ItemWriter's bytes)."""
    if kind == DatasetKind.IMAGE:
        return hashlib.sha256(content).hexdigest()
    if kind == DatasetKind.PREFERENCE:
        return hashlib.sha256(pair_bytes({key: value.strip() for key, value in content.items()})).hexdigest()
    return hashlib.sha256(content.strip().encode()).hexdigest()
