"""Measures of a text and the checks built on them. Each check is named after what it can see and
returns {"passed": bool, "detail": str}; the detail says what it measured, in a line a person reads.

Languages are ISO 639-1 codes ("en", "zh"). English and Chinese are calibrated on the labelled set in
tests/tools_layer/quality/calibration.jsonl; other languages the detector and word lists know are
measured the same way but were not calibrated. Thresholds below are the calibrated ones; the test
holds every check to its precision and recall on that set.
"""

import functools
import re

# The languages the detector tells apart. Fewer languages load faster (each is a model read from
# the wheel on first use) and confuse less on short text; these cover what a creator is likely to
# get by mistake from a small model: its training languages and the large web languages.
DETECTABLE = (
    "en",
    "zh",
    "fr",
    "de",
    "es",
    "pt",
    "it",
    "nl",
    "ja",
    "ko",
    "ru",
    "ar",
    "id",
    "tr",
    "vi",
    "pl",
    "sv",
    "hi",
    "la",
)
# Below this many letters a detector's guess is noise: `detect_language` says it cannot tell.
MIN_LETTERS_TO_DETECT = 12
# The detector's confidence (0..1) in its best language below which `detect_language` cannot tell.
MIN_LANGUAGE_CONFIDENCE = 0.25

# A word counts as real when wordfreq's frequency lists hold it at this Zipf frequency or more
# (1 = once per 100 million words; "carpel" is 1.86, "dallasa" and "spotlets" are absent, 0).
REAL_WORD_ZIPF = 1.5
# A Chinese single character standing alone (what jieba leaves of a string it cannot segment) counts
# as a word only when it is a common word by itself (的 7.8, 好 6.2; 哔 3.4, 呜 4.1).
REAL_CHINESE_CHAR_ZIPF = 4.5
# Words a creator gave (product names, brand names) are real whatever the lists say.

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")

# Phrases in which text talks about the writing task instead of doing it ("As an AI…", "Here is the
# attention part", "this section", "以下是…").
TASK_TALK = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\bas an? (?:ai|language model|assistant|copywriter|teacher)\b",
        # An assistant introducing itself anywhere in the text ("My name is Emma, and I'm an AI assistant").
        r"\bi(?:'m|’m| am) an? (?:ai|artificial intelligence|virtual|digital|language model|chatbot)\b",
        r"\b(?:ai|language) model\b",
        (
            r"\bhere(?: is|'s| are)\b(?: (?:the|a|an|your|some|my))? (?:\w+ )?(?:part|section|copy|text|version|variant|answer|"
            r"response|slide|bullet|question|quiz|json|headline|paragraph|draft|example|output|field|lesson plan)s?\b"
        ),
        r"\b(?:this|the|that|next|following|above|below|first|second|last) (?:section|field|paragraph|prompt|instructions?|json)\b",
        (
            r"\b(?:attention|interest|desire|action|problem|agitate|solution|headline|subheadline|hero|cta|call to action) "
            r"(?:part|section|field|stage|step)\b"
        ),
        r"\b(?:i will|i'll|i can|let me|i have|i've) (?:write|create|generate|help|provide|draft|make)\b",
        r"\b(?:sure|certainly|of course)[!,.] ",
        r"\bword count\b|\bcharacter limit\b|\bunder \d+ (?:words|characters)\b",
        r"作为(?:一个)?(?:AI|人工智能|语言模型|助手)",
        r"以下是",
        r"这(?:一)?(?:部分|段|节)",
        r"本(?:节|段|部分)",
        r"好的[，,]",
        r"JSON",
        r"字数|字符限制",
        r"我(?:将|会)(?:为你|为您)?(?:写|生成|创作|提供)",
        # A small model copies its prompt's instructions into the copy ("Write for young professionals,
        # in a friendly tone, in English."; "Give each slide a short title"): instructions to a writer,
        # which a reader of the copy is never given.
        # Any "in a … tone" is such an instruction, whatever the tone ("in a Calm Tone, in English").
        r"\bin an? (?:[\w-]+ ){1,2}tone\b",
        (
            r"(?:^|[.!?]\s+)(?:write|give|list|compose|draft|return)\b(?: [\w'-]+){0,4} (?:sentences?|headlines?|"
            r"subheadlines?|slogans?|descriptions?|posts?|subject lines?|copy|titles?|bullet points?|bullets|choices|"
            r"questions?|paragraphs?|overview|values?|activities|button labels?|calls? to action)\b"
        ),
        r"(?:用|以)[^，。！？,.!?]{0,8}(?:语气|口吻)(?:写|撰写|介绍|描述|回答|创作)",
        r"请(?:写|用|生成|给出|编写)",
        # A template's blanks left for somebody to fill ("Dear [Your Name]", "[insert link]", 【您的姓名】):
        # a draft about the copy, not copy a reader can be shown.
        (
            r"\[(?:your|insert|add|enter|company|brand|business|product|customer|recipient|name|link|url|date|"
            r"time|phone|email|address|city|location|price|website)\b[^\]\n]{0,30}\]"
        ),
        r"[【\[［](?:您的|你的|公司|品牌|产品|插入|填写|姓名|名字|名称|链接|网址|日期|地址|电话|价格)[^】\]］\n]{0,15}[】\]］]",
        # The text says what kind of text it is ("This is a social media post…", 这是一个…社交媒体帖子).
        (
            r"\bthis is (?:a|an|my|your|the) (?:[\w-]+ ){0,3}(?:post|advert|advertisement|ad copy|headline|slogan|"
            r"caption|tagline|marketing email|product description|slide|quiz question)\b"
        ),
        r"这是一(?:个|篇|则|条|份|段)[^。！？\n]{0,15}(?:帖子|文案|广告语?|标题|幻灯片|文章|示例|版本|回答|口号)",
        # ... or names the part or the kind of copy it was asked for: "The call to action: …", "share a
        # social media post about…" (copy a reader is shown says "Book now", not "call to action").
        r"\bcalls? to action\b",
        r"(?:^|[.!?]\s+)(?:the |one |a |my |your )?(?:headline|subheadline|tagline|slogan|subject line|caption|cta)\s*:",
        r"\b(?:social media|instagram|facebook|linkedin|twitter|tiktok) (?:post|caption)s? (?:about|for|on)\b",
    )
]

# Words a complete sentence or phrase does not end on (a value cut off mid-thought).
DANGLING_EN_WORDS = """
a an the and or but nor of to by with without for from in into on onto at as is are was were be been being am
that which who whose whom than then so because if while whereas your our my their its his her this these those
very more most such not no every each
"""
DANGLING_EN = frozenset(DANGLING_EN_WORDS.split())
# Of those, the words that also end a clause whose rest is understood: "but it's not", "that's who we
# are", "why not", and pronouns as objects ("Try this.", "and more"). They end a part when it closes
# with . ! ? (the writer ended it; a model cut off by its token limit stops without one), or, for "not"
# and the forms of "be", right after a subject or an auxiliary ("it's not", "we are", "or not").
ENDS_AFTER_SUBJECT_EN = frozenset("is are was were be been being am not".split())
ELLIPTICAL_EN = ENDS_AFTER_SUBJECT_EN | frozenset("this that these those more most her his each".split())
ELLIPSIS_HOSTS = frozenset(
    """i you we they he she it or why if is are was were am be do does did can could will would should may
    might must has have had""".split()
)
DANGLING_ZH = tuple("和与及或、，,在是把被从向对为让给比并而且但且就都也很最更")
SENTENCE_END_ZH = tuple("。！？!?…」”）)")


@functools.lru_cache(maxsize=1)
def _detector():
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_iso_codes_639_1(
        *[getattr(IsoCode639_1, code.upper()) for code in DETECTABLE]
    ).build()


def letters(text: str) -> int:
    return sum(char.isalpha() for char in text)


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language `text` is written in ("en", "zh", "fr"…), or None when the
    text is too short to tell (fewer than MIN_LETTERS_TO_DETECT letters) or no language is clearly
    likelier than the rest. Detection uses lingua's models, which ship inside its wheel (no download)."""
    if letters(text) < MIN_LETTERS_TO_DETECT:
        return None
    cjk = len(CJK.findall(text))
    if cjk and cjk >= 0.5 * letters(text) and not re.search(r"[\u3040-\u30ff\uac00-\ud7af]", text):
        return "zh"  # Han characters without kana or hangul: lingua agrees, without loading a model
    confidences = _detector().compute_language_confidence_values(text)
    if not confidences or confidences[0].value < MIN_LANGUAGE_CONFIDENCE:
        return None
    return confidences[0].language.iso_code_639_1.name.lower()


def words(text: str, language: str) -> list[str]:
    """The text's words, lower-cased, without punctuation or numbers. Chinese (and any run of Han
    characters in other text) is segmented into words by jieba, through wordfreq's tokenizer."""
    from wordfreq import tokenize

    if language == "zh" or CJK.search(text):
        tokens = tokenize(text, "zh")
        return [token for token in tokens if any(char.isalpha() for char in token)]
    return [word.lower().replace("’", "'") for word in LATIN_WORD.findall(text)]


def _known_zh(word: str) -> bool:
    """Whether wordfreq's Chinese list knows `word` as a word (of two characters or more)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "zh") >= REAL_WORD_ZIPF


def _is_real(word: str, language: str, known: set[str]) -> bool:
    from wordfreq import zipf_frequency

    if word in known:
        return True
    if CJK.match(word):
        if len(word) == 1:
            return zipf_frequency(word, "zh") >= REAL_CHINESE_CHAR_ZIPF
        return _known_zh(word)
    if language == "zh":  # a Latin word inside Chinese text: a brand or a loan word, judged in English
        language = "en"
    if zipf_frequency(word, language) >= REAL_WORD_ZIPF:
        return True
    # "eco-friendly", "noise-cancelling": a compound is real when its parts are.
    parts = [part for part in re.split(r"[-']", word) if part]
    return len(parts) > 1 and all(zipf_frequency(part, language) >= REAL_WORD_ZIPF for part in parts)


def _joined_pairs(tokens: list[str]) -> list[str]:
    """Two single Han characters in a row that wordfreq knows as one word (黏 土 -> 黏土) made one."""
    joined: list[str] = []
    for token in tokens:
        if (
            joined
            and len(token) == 1
            and len(joined[-1]) == 1
            and CJK.match(token)
            and CJK.match(joined[-1])
            and _known_zh(joined[-1] + token)
        ):
            joined[-1] += token
        else:
            joined.append(token)
    return joined


def _in_a_word(tokens: list[str], index: int) -> bool:
    """Whether the lone Han character at `index` makes a known word with its neighbour, where the
    segmenter cut it off (冲锋 衣 -> 冲锋衣; 也干 爽 -> 干爽): a word of the text, not a stray character."""
    token = tokens[index]
    before = tokens[index - 1] if index > 0 else ""
    after = tokens[index + 1] if index + 1 < len(tokens) else ""
    joined = [before + token, before[-1:] + token, token + after, token + after[:1]]
    return any(len(word) > 1 and all(CJK.match(char) for char in word) and _known_zh(word) for word in joined)


def real_word_share(text: str, language: str, *, known: tuple[str, ...] | list[str] = ()) -> float:
    """The share (0..1) of the text's words that are words of `language` by wordfreq's frequency lists
    (Chinese segmented first; a lone Han character counts when it is a common word by itself or makes a
    known word with its neighbour). Words in `known` (the product's name, a brand) count as real. A text
    without words scores 0."""
    known_words = {word for phrase in known for word in words(phrase, language)}
    tokens = _joined_pairs([word for word in words(text, language) if not word.isdigit()])
    tokens = [re.sub(r"^[-']+|[-']+$", "", word) for word in tokens]
    tokens = [word for word in tokens if word]
    if not tokens:
        return 0.0
    real = 0
    for index, word in enumerate(tokens):
        lone_han = len(word) == 1 and CJK.match(word)
        real += _is_real(word, language, known_words) or bool(lone_han and _in_a_word(tokens, index))
    return real / len(tokens)


def _units(text: str, language: str) -> list[str]:
    """What repetition is counted in: words, or for Chinese, its characters (a looping Chinese model
    repeats strings that jieba segments differently each time)."""
    if language == "zh" or CJK.search(text):
        return [char for char in text if char.isalnum()]
    return words(text, language)


def repeated_ngram_share(text: str, n: int = 3, *, language: str = "en") -> float:
    """The share (0..1) of the text's n-grams of words (of characters for Chinese) that already
    occurred earlier in it. "to grow to business to grow to business" scores high; varied prose near 0.
    Texts with fewer than n+1 units score 0 (nothing can repeat)."""
    units = _units(text, language)
    grams = [tuple(units[i : i + n]) for i in range(len(units) - n + 1)]
    if len(grams) < 2:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for gram in grams:
        repeats += gram in seen
        seen.add(gram)
    return repeats / len(grams)


def talks_about_task(text: str) -> bool:
    """Whether the text talks about the writing task instead of doing it: "As an AI…", "Here is the
    attention part…", "this section", "under 10 words", "以下是…", "这部分…"."""
    return task_talk(text) is not None


def task_talk(text: str) -> str | None:
    """The first phrase in which the text talks about its task (see `talks_about_task`), or None."""
    for pattern in TASK_TALK:
        found = pattern.search(text)
        if found:
            return found.group(0).strip()
    return None


# Named checks. Thresholds are calibrated on the training half of the labelled set (see the module's
# docstring and tests/tools_layer/quality/test_calibration.py, which reports the held-out half).

# `in_requested_language`: text whose language cannot be told (too short) passes.
# `made_of_real_words`: at least this share of the words are real.
MIN_REAL_WORD_SHARE = 0.8
# ... and a text of MIN_CHARS_FOR_LETTER_SHARE visible characters or more is at least this share letters (a
# small model sometimes fills a field with dates, codes or punctuation).
MIN_LETTER_SHARE = 0.6
MIN_CHARS_FOR_LETTER_SHARE = 8
# Beside words, arithmetic is content too ("公式：a² + b² = c²", "6² + 8² = 100, so 10 cm"): its digits and
# signs count with the letters, in a text that has words. Digits alone ("12/05 14:00", a timestamp) do not.
ARITHMETIC = re.compile(r"[0-9²³⁴½¼¾=+×÷−*/^%.,°√π<>≤≥()]")
# `no_repetition`: at most this share of a text's word trigrams (character 4-grams in Chinese) repeat
# an earlier one, within a field or across fields; and no word (of 3+ letters, or any Chinese word)
# makes up more than MAX_WORD_SHARE of a text of MIN_WORDS_FOR_SHARE words or more.
MAX_REPEATED_SHARE = 0.15
MAX_WORD_SHARE = 0.25
MIN_WORDS_FOR_SHARE = 8
# `no_shouting`: words of 4+ letters written all in capitals, when at least this many of them and
# more than half of such words (acronyms such as "USB" or "NASA" stay short or alone).
SHOUTING_WORDS = 2


def check(passed: bool, detail: str) -> dict:
    return {"passed": bool(passed), "detail": detail}


LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Chinese",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "pt": "Portuguese",
    "it": "Italian",
    "nl": "Dutch",
    "ja": "Japanese",
    "ko": "Korean",
    "ru": "Russian",
    "ar": "Arabic",
    "id": "Indonesian",
    "tr": "Turkish",
    "vi": "Vietnamese",
    "pl": "Polish",
    "sv": "Swedish",
    "hi": "Hindi",
    "la": "Latin",
}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


# A detector always names some language, also for made-up words ("Bakpak lappo zoomy carryfun" reads as
# Dutch to lingua) and now and then for short text in the requested one. Text counts as written in the
# detected language only when at least this share of its words are words of that language (the
# wrong-language text of the labelled set: 100% in every case). Otherwise the language check passes it
# on: made-up words fail `real_words`, which says what is wrong with them, instead of being reported
# in a language they are not in (and skipping every other check).
MIN_DETECTED_LANGUAGE_WORD_SHARE = 0.5
# Languages whose words wordfreq can read without an extra segmenter (ja and ko need MeCab; la has no
# list; zh is told by its script): only for these can a detected language be confirmed by its words.
WORD_LISTED = frozenset(DETECTABLE) - {"ja", "ko", "la", "zh"}


def in_requested_language(text: str, language: str) -> dict:
    """The text is written in `language` (lingua's detector; Chinese by its script). Text the detector
    places in another language whose words it is not made of (made-up words) is not in that language:
    it passes here and is left to `made_of_real_words`. Text for a Chinese request holds Han characters."""
    found = detect_language(text)
    if found is None:
        return check(True, "too short to tell its language")
    if found != language:
        script_fits = language != "zh" or CJK.search(text)
        if script_fits and found in WORD_LISTED and real_word_share(text, found) < MIN_DETECTED_LANGUAGE_WORD_SHARE:
            return check(True, f"not in {language_name(found)}, the detector's guess: its words are not words of it")
        return check(False, f"written in {language_name(found)}, not {language_name(language)}")
    return check(True, f"written in {language_name(language)}")


def made_of_real_words(texts: list[str], language: str, *, known: list[str] = ()) -> dict:
    """Each text is mostly real words of `language` (wordfreq's lists; `known` names count), and mostly
    letters (not dates, codes or punctuation)."""
    worst, worst_share = "", 1.0
    for text in texts:
        visible = [char for char in text if not char.isspace()]
        worded = any(sum(char.isalpha() for char in word) >= 2 for word in words(text, language))
        content = letters(text) + (sum(bool(ARITHMETIC.match(char)) for char in visible) if worded else 0)
        if len(visible) >= MIN_CHARS_FOR_LETTER_SHARE and content / len(visible) < MIN_LETTER_SHARE:
            return check(False, f"{_quote(text)} is mostly not words")
        if not words(text, language):
            continue
        share = real_word_share(text, language, known=known)
        if share < worst_share:
            worst, worst_share = text, share
    if worst_share < MIN_REAL_WORD_SHARE:
        unknown = [
            word
            for word in words(worst, language)
            if not _is_real(word, language, {w for phrase in known for w in words(phrase, language)})
        ]
        return check(False, f"{worst_share:.0%} real words in {_quote(worst)}; not words: {', '.join(unknown[:5])}")
    return check(True, f"at least {MIN_REAL_WORD_SHARE:.0%} real words in every part")


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def no_repetition(texts: list[str], language: str) -> dict:
    """No run of words repeats within a part or across parts, and no word crowds a part."""
    joined = " \n ".join(texts)
    n = 4 if language == "zh" else 3
    share = max(
        [repeated_ngram_share(joined, n, language=language)]
        + [repeated_ngram_share(text, n, language=language) for text in texts]
    )
    if share > MAX_REPEATED_SHARE:
        return check(False, f"{share:.0%} of its {'character 4-grams' if n == 4 else 'word triples'} are said twice")
    for text in texts:
        tokens = [
            word
            for word in words(text, language)
            if (len(word) >= 3 and word not in STOPWORDS_EN and word not in DANGLING_EN) or CJK.match(word)
        ]
        if len(words(text, language)) >= MIN_WORDS_FOR_SHARE and tokens:
            top = max(set(tokens), key=tokens.count)
            if tokens.count(top) / len(words(text, language)) > MAX_WORD_SHARE:
                return check(
                    False, f"{top!r} is {tokens.count(top)} of the {len(words(text, language))} words of {_quote(text)}"
                )
    # A content word said twice in a row ("Preliminary Offer, Unofficial, Unofficial"): a looping model
    # does it in text too short for the shares above to see; a writer does not, in copy or on a slide.
    # Content words only ("that that", "so so" are English), and Chinese words of two characters (a
    # doubled character such as 看看 is one word to the segmenter, and Chinese doubles words freely).
    for text in texts:
        said = content_words(text, language)
        for first, second in zip(said, said[1:]):
            if first == second and _adjacent(text, first, language):
                return check(False, f"{first!r} is said twice in a row in {_quote(text)}")
    # A part that is another part word for word (the hero's title as its body) is one part said twice.
    normal = [" ".join(words(text, language)) for text in texts]
    for i, first in enumerate(normal):
        for second in normal[i + 1 :]:
            if first and first == second:
                return check(False, f"{_quote(texts[i])} is written twice")
    return check(True, "no words repeated")


def _adjacent(text: str, word: str, language: str) -> bool:
    """Whether `word` follows itself in `text` with nothing but spaces or punctuation between."""
    everything = words(text, language)
    return any(a == b == word for a, b in zip(everything, everything[1:]))


def no_task_talk(texts: list[str]) -> dict:
    """The text does the task instead of talking about it ("As an AI…", "Here is the attention part")."""
    for text in texts:
        found = task_talk(text)
        if found:
            return check(False, f"talks about the task: {_quote(found)}")
    return check(True, "no talk about the task")


def ends_complete(text: str, language: str) -> bool:
    """Whether a phrase or sentence ends on a word that can end it (not "by", "with", "is", a comma)."""
    stripped = text.strip()
    if not stripped:
        return False
    if language == "zh" or CJK.search(stripped[-1:]):
        return not stripped.endswith(DANGLING_ZH)
    if stripped[-1] in ",;:-–—(&/":
        return False
    if re.search(r"\b\d+-[a-z]+$", stripped.lower()):
        return False  # "…with 40-hour": a number compound stands before the noun it describes
    if stripped[-1] in "?!" or re.search(r"\d[\d.,]*\s*[%°]?$", stripped):
        return True  # a question or an exclamation ends where the writer ended it; so do "in 1789", "40%"
    said = words(stripped, language)
    if not said or said[-1] not in DANGLING_EN:
        return True
    if said[-1] not in ELLIPTICAL_EN:
        return False
    if stripped[-1] in ".!?":
        return True
    before = said[-2] if len(said) >= 2 else ""
    host = before.split("'")[0]  # it's, we're -> it, we
    return said[-1] in ENDS_AFTER_SUBJECT_EN and (host in ELLIPSIS_HOSTS or before.endswith("n't"))


# A part that ends in the middle of the brief's own words has echoed the brief and stopped ("Organic dog
# food made with fresh" for "Organic dog food made with fresh vegetables"): its last words (at least
# ECHO_RUN_WORDS) are a run of the brief's words with a joining word inside ("with", "that", "on"), and
# the brief goes on after them. A run of plain nouns ("…noise-cancelling earbuds") can end a phrase.
ECHO_RUN_WORDS = 3
ECHO_JOINS = frozenset("with that which for on of in to and made from by without".split())


def stops_mid_brief(text: str, brief: str) -> bool:
    """Whether an English part ends partway through a run of the brief's words (see ECHO_RUN_WORDS)."""
    said = LATIN_WORD.findall(text.lower())
    wanted = LATIN_WORD.findall(brief.lower())
    if len(said) < ECHO_RUN_WORDS or not text.strip() or text.strip()[-1] in ".!?…":
        return False
    for end in range(len(wanted) - 1):  # the run must stop before the brief's last word
        run = 0
        while run < len(said) and end - run >= 0 and said[-1 - run] == wanted[end - run]:
            run += 1
        if run >= ECHO_RUN_WORDS and ECHO_JOINS & set(said[-run:-1]):
            return True
    return False


def complete_sentences(texts: list[str], language: str) -> dict:
    """No part stops mid-sentence (on "by", "with", "is", "the", a comma; on 的, 和, ，in Chinese)."""
    for text in texts:
        if text.strip() and not ends_complete(text, language):
            return check(False, f"{_quote(text[-40:])} stops mid-sentence")
    return check(True, "every part ends complete")


# What may follow a post's last sentence: hashtags (#露营好物, Weibo's #话题#), mentions, links, emoji
# and other symbols.
TRAILING_TAGS = re.compile(r"(?:\s*(?:#[^#\s]+#?|@\S+|https?://\S+|[^\w\s\u3000-\u303f\uff00-\uffef.!?…]))+\s*$")


def sentence_endings_zh(texts: list[str]) -> dict:
    """Chinese sentences end with Chinese punctuation (。！？), not a Latin full stop or nothing (hashtags,
    links and emoji may follow the last one)."""
    for text in texts:
        stripped = TRAILING_TAGS.sub("", text.strip()) or text.strip()
        if len(stripped) >= 12 and not stripped.endswith(SENTENCE_END_ZH):
            return check(False, f"{_quote(stripped[-20:])} does not end with 。！？")
        if re.search(r"[\u4e00-\u9fff]\.(?:\s|$)", stripped):
            return check(False, f"{_quote(stripped[-20:])} ends a Chinese sentence with a Latin full stop")
    return check(True, "sentences end with Chinese punctuation")


def no_shouting(texts: list[str]) -> dict:
    """The text is not written in capitals (short acronyms such as "USB" are fine)."""
    for text in texts:
        long_words = [word for word in LATIN_WORD.findall(text) if len(word) >= 4]
        capitals = [word for word in long_words if word.isupper()]
        if len(capitals) >= SHOUTING_WORDS and len(capitals) * 2 > len(long_words):
            return check(False, f"{_quote(text)} is written in capitals")
    return check(True, "no shouting in capitals")


# Relevance.
STOPWORDS_EN_WORDS = """
a an the and or but of to by with without for from in into on onto at as is are was were be been this that these
those your our my their its new best good great more most very all any every each one two three our you we they it
for which who what when where how why not no can will just only also than then so such about over under up out
"""
STOPWORDS_EN = frozenset(STOPWORDS_EN_WORDS.split())


def content_words(text: str, language: str) -> list[str]:
    """The words that carry the content: not function words (wordfreq's commonest) and, in Chinese,
    words of two characters or more."""
    from wordfreq import zipf_frequency

    found = []
    for word in words(text, language):
        if CJK.match(word):
            if len(word) >= 2:
                found.append(word)
        elif len(word) >= 3 and word not in STOPWORDS_EN and zipf_frequency(word, "en") < 6.3:
            found.append(word)
    return found


def stem(word: str) -> str:
    """A crude English stem (earbuds ~ earbud, evaporation ~ evaporates): the first five letters of
    words longer than five, the word without a plural s otherwise. Chinese words are their own stem."""
    if CJK.match(word):
        return word
    return word[:5] if len(word) > 5 else word.rstrip("s") or word


# A subject word this long or longer is also named by a word that ends with it ("asleep" names sleep,
# "smartwatch" names watch); a shorter one must be the word itself ("art" is not named by "start").
MIN_NAMED_SUFFIX = 4


def _named_words(wanted: list[str], said: list[str]) -> list[str]:
    """The subject's content words (their stems) that `said` (a text's content words) names: the same
    stem, or a longer English word that ends with the subject's word."""
    stems = {stem(word) for word in said}
    named = {stem(word) for word in wanted if stem(word) in stems}
    for word in wanted:
        if len(word) >= MIN_NAMED_SUFFIX and not CJK.match(word):
            if any(len(other) > len(word) and other.endswith(word) for other in said):
                named.add(stem(word))
    return sorted(named)


def names_the_subject(text: str, subject: str, language: str, *, also: list[str] = ()) -> dict:
    """The text names its subject (the product, the topic) or one of its key content words; in Chinese,
    one of its words or a pair of its characters. `also` lists further words that count (keywords)."""
    wanted = [word for phrase in [subject, *also] for word in content_words(phrase, language)]
    pairs = _cjk_keys(subject)
    if not wanted and not pairs:
        return check(True, "the subject has no content words to look for")
    text_cjk = "".join(CJK.findall(text))
    named = _named_words(wanted, content_words(text, language)) + sorted(key for key in pairs if key in text_cjk)
    if named:
        return check(True, f"names {', '.join(named[:3])}")
    return check(False, f"never names {_quote(subject, 40)} or its key words")


def _cjk_keys(subject: str) -> set[str]:
    """What names a Chinese subject: each pair of its characters, and the last character of each of
    its runs of three or more (the head of a compound noun: 露营灯 -> 灯, 登山靴 -> 靴)."""
    keys = set()
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", subject):
        keys |= {run[i : i + 2] for i in range(len(run) - 1)}
        if len(run) >= 3:
            keys.add(run[-1])
    return keys


def on_subject_share(texts: list[str], subject_texts: list[str], language: str) -> float:
    """The share of `texts` that share a content word (stem) with the subject's texts."""
    wanted = [word for text in subject_texts for word in content_words(text, language)]
    keys = set().union(*(_cjk_keys(text) for text in subject_texts)) if subject_texts else set()
    if not texts:
        return 0.0
    hits = 0
    for text in texts:
        text_cjk = "".join(CJK.findall(text))
        hits += bool(_named_words(wanted, content_words(text, language))) or any(key in text_cjk for key in keys)
    return hits / len(texts)


# Quiz.
LABEL_CHOICE = re.compile(r"(?:[a-h]|\d{1,2}|[ivx]{1,4}|option \w|choice \w|answer \w)[.)]?", re.IGNORECASE)
VAGUE_CHOICES = {
    "true",
    "false",
    "yes",
    "no",
    "all of the above",
    "none of the above",
    "both",
    "neither",
    "对",
    "错",
    "是",
    "否",
    "以上都是",
    "以上都不是",
}


# A question that "True", "Yes" or 对 can answer (a quiz of such choices alone is fine for it).
YES_NO_QUESTION = re.compile(
    r"^(?:is|are|was|were|do|does|did|can|could|will|would|should|has|have|had|must)\b|\btrue or false\b|"
    r"吗[？?]?$|是否|对不对|是不是|对吗|判断",
    re.IGNORECASE,
)
HAN_OR_DIGIT = re.compile(r"[0-9\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
NUMBER_QUESTION = re.compile(
    r"\b(?:how (?:many|much|long|old|far)|numbers?|years?|calculate|work out|solve|sum|total|"
    r"product|\d)\b|多少|几|计算|等于|哪个数|哪一年|数",
    re.IGNORECASE,
)


def is_label(choice: str, question: str = "", choices: list[str] = ()) -> bool:
    """Whether a choice is a label standing for an answer ("A", "b)", "Option C"; a bare number where
    the question asks for no number and the choices number their places, 1 to 4)."""
    stripped = _bare(choice)
    if not stripped:
        return True
    if stripped.isdigit():
        places = {int(bare) for other in choices if (bare := _bare(other)).isdigit()}
        numbered = not choices or places <= set(range(len(choices) + 1))
        return numbered and not NUMBER_QUESTION.search(question)
    return bool(LABEL_CHOICE.fullmatch(stripped))


def _bare(choice: str) -> str:
    """A choice without its surrounding spaces and closing full stop ("B." -> "B", "17." -> "17")."""
    return choice.strip().rstrip(".")


def _normal_choice(choice: str) -> str:
    """A choice as compared with the others: lower case, its words and numbers ("10厘米" and "14厘米"
    differ), without punctuation (a choice of punctuation alone stays itself, lower-cased)."""
    return " ".join(re.findall(r"\w+", choice.lower().replace("’", "'"))) or choice.strip().lower()


def distinct_real_choices(choices: list[str], language: str, *, question: str = "") -> dict:
    """The choices are different, real answers: not letters or numbers standing for one ("A", "B"), not
    "True" beside answers of another kind, not the same answer twice, and made of real words."""
    normal = [_normal_choice(choice) for choice in choices]
    for choice in choices:
        if is_label(choice, question, choices):
            return check(False, f"{_quote(choice)} is a label, not an answer")
    vague = [choice for choice, norm in zip(choices, normal) if norm in VAGUE_CHOICES]
    if vague and len(vague) != len(choices) and len(choices) > 2:
        return check(False, f"{_quote(vague[0])} is not an answer to choose beside the others")
    repeated = sorted({choice for choice, norm in zip(choices, normal) if normal.count(norm) > 1})
    if repeated:
        return check(False, f"{_quote(repeated[0])} is given twice")
    for choice in choices:
        if words(choice, language) and real_word_share(choice, language) < 0.5:
            return check(False, f"{_quote(choice)} is not made of real words")
    return check(True, "distinct, real answers")


def question_hides_answer(question: str, answer: str, language: str, choices: list[str] = ()) -> dict:
    """The question does not contain its own answer (a content word of the answer that the question
    gives away, where the wrong answers cannot be found in it as well; a number it states that no
    other choice is). "True" and "Yes" are not given away by a question that asks whether."""
    if _normal_choice(answer) in VAGUE_CHOICES:
        return check(True, f"{_quote(answer)} answers whether, which a question cannot give away")
    answer_words = {stem(word) for word in content_words(answer, language)}
    question_words = {stem(word) for word in content_words(question, language)}
    normal_answer = " ".join(words(answer, language))
    if normal_answer and len(normal_answer) >= 4 and normal_answer in " ".join(words(question, language)):
        return check(False, f"the question contains its answer {_quote(answer)}")
    # Chinese with its numbers: "10厘米" is not given away by a question on 6厘米 and 8厘米.
    answer_cjk = "".join(HAN_OR_DIGIT.findall(answer))
    if len(CJK.findall(answer)) >= 2 and answer_cjk in "".join(HAN_OR_DIGIT.findall(question)):
        return check(False, f"the question contains its answer {_quote(answer)}")
    stated = set(NUMBER.findall(question))
    others = {_bare(choice) for choice in choices if choice != answer}
    if NUMBER.fullmatch(_bare(answer)) and _bare(answer) in stated and not others & stated:
        return check(False, f"the question states its answer {_quote(answer)}")
    if answer_words and answer_words <= question_words and len(answer_words) >= 2:
        return check(False, f"the question holds every key word of its answer {_quote(answer)}")
    return check(True, "the question does not give its answer away")


def explanation_supports_answer(
    explanation: str, answer: str, choices: list[str], language: str, *, question: str = ""
) -> dict:
    """The explanation does not speak of a wrong choice instead of the answer (it may explain the answer
    without naming it); an answer that is a label ("B") has nothing an explanation could support."""
    if is_label(answer, question, choices):
        return check(False, f"the answer {_quote(answer)} is a label, which no explanation supports")
    vague = [choice for choice in choices if _normal_choice(choice) in VAGUE_CHOICES]
    if answer in vague and (len(vague) < len(choices) or not YES_NO_QUESTION.search(question.strip())):
        return check(False, f"the answer {_quote(answer)} answers nothing the question asks")

    def stems_of(text: str) -> set[str]:
        found = {stem(word) for word in content_words(text, language)}
        found |= set(re.findall(r"\d+(?:\.\d+)?", text))
        cjk = "".join(CJK.findall(text))
        return found | {cjk[i : i + 2] for i in range(len(cjk) - 1)}

    said = stems_of(explanation)
    right = stems_of(answer)
    if not right:
        return check(True, "the answer has no key word to look for")
    if right & said:
        return check(True, "the explanation speaks of the answer")
    wrong = [choice for choice in choices if choice != answer and stems_of(choice) & said]
    if wrong:
        return check(False, f"the explanation speaks of {_quote(wrong[0])}, not the answer {_quote(answer)}")
    # ("Heat turns liquid water into vapour" explains "Evaporation" without naming it.)
    return check(True, "the explanation speaks of no other choice")


# Slides.
MIN_BULLET_WORDS = {"en": 3, "zh": 2}


def bullets_on_subject(
    bullets: list[str], subject_texts: list[str], language: str, *, notes: str = "", title: str = ""
) -> dict:
    """Bullets are phrases (three words or more; two Chinese words) or labels holding a content word,
    the bullets (or else the notes) share key words with the slide's title or `subject_texts` (the
    lesson's topic and objectives, which the creator wrote), and the slide, its title included, shares
    key words with `subject_texts`: the title is written with the bullets, so it is read, not trusted (a
    slide about butterflies under "The life cycle of a butterfly" is not on the Pythagorean theorem)."""
    for bullet in bullets:
        # A short bullet is a label ("Canopy", "Forest floor") when its content words are real words;
        # a letter, a number or made-up words ("mwahilkei alaar") are not a bullet.
        if len(words(bullet, language)) < MIN_BULLET_WORDS.get(language, 3) and not (
            (said := content_words(bullet, language)) and all(_is_real(word, language, set()) for word in said)
        ):
            return check(False, f"{_quote(bullet)} is not a phrase")
    anchors = [*subject_texts, title] if title else subject_texts
    share = on_subject_share(bullets, anchors, language)
    if share == 0 and not (notes and on_subject_share([notes], anchors, language)):
        return check(False, "neither the bullets nor the notes name the slide's subject")
    if not on_subject_share(["\n".join([title, *bullets, notes])], subject_texts, language):
        return check(False, "the slide never names the lesson's topic or objectives")
    return check(True, f"{share:.0%} of the bullets name the slide's subject")


# Chinese reading level: a measure suited to Chinese, from the two factors readability studies of
# Chinese use most (sentence length in characters, and the share of uncommon words), mapped to grade
# bands. Common words: Zipf 4.0 or more in wordfreq's Chinese list.
COMMON_ZH_ZIPF = 4.0


def chinese_reading_measures(text: str) -> tuple[float, float]:
    """(average characters per sentence, share of uncommon words) of a Chinese text."""
    from wordfreq import zipf_frequency

    sentences = [part for part in re.split(r"[。！？!?；;\n]", text) if CJK.search(part)]
    chars = len(CJK.findall(text))
    tokens = [word for word in words(text, "zh") if CJK.match(word)]
    uncommon = sum(zipf_frequency(word, "zh") < COMMON_ZH_ZIPF for word in tokens)
    return (chars / len(sentences) if sentences else 0.0), (uncommon / len(tokens) if tokens else 0.0)


def chinese_reading_grade(text: str) -> float:
    """A grade estimate for Chinese text: longer sentences and more uncommon words read harder. Linear
    in both: a primary-school text (about 12 characters a sentence, 10% uncommon words) scores about
    grade 3; news prose (about 35 characters, 35% uncommon) about grade 12."""
    length, uncommon = chinese_reading_measures(text)
    return round(-1.0 + 0.2 * length + 16.0 * uncommon, 1)


# The checks of one item, by kind. Keys are the checks' names in the labelled set and in an item's
# stored checks; EXPLANATIONS says in one line what each can see (the pages show it).
EXPLANATIONS = {
    "language": "Written in the requested language (a language detector; Chinese by its script).",
    "real_words": f"At least {MIN_REAL_WORD_SHARE:.0%} of the words are real words of the language (word-frequency lists; Chinese segmented first).",
    "on_subject": "Names the product or topic, or one of its key words.",
    "fluency": "Reads as prose: the perplexity per token under a reference language model is below a calibrated limit.",
    "task_talk": 'Does the task instead of talking about it (no "As an AI…", "Here is the attention part", "this section").',
    "repetition": "Does not say the same words twice, within a part or across parts.",
    "complete_sentences": 'Every part ends complete (not on "by", "with", "is" or a comma; Chinese sentences end with 。！？).',
    "shouting": "Not written in capitals.",
    "choices": 'The choices are distinct, real answers (not "A", "B", not "True" beside other answers, not the same twice).',
    "gives_away": "The question does not give its answer away.",
    "explanation": "The explanation speaks of the right answer, not of a wrong one.",
}
# Fields of copy that are phrases (a Chinese phrase need not end with 。); every other field is prose.
PHRASE_FIELDS = {"headline", "subheadline", "subject", "slogan", "cta", "title"}


# Prose (not a phrase field) is cut off when its last line goes on past a finished sentence, or runs
# this many words, without reaching a stop: a sentence that long is not a heading or a call to action.
# What may end a line of finished prose besides a stop: a closing quote or bracket, an emoji or other
# symbol, a hashtag or a link.
SENTENCE_END = re.compile(r"[.!?…]+[\"”’')\]]*(?=\s|$)")
LONG_SENTENCE_WORDS = 12


def prose_cut_off(text: str, language: str) -> bool:
    """Whether a part of prose stops mid-sentence without a dangling word: the token limit cut it
    ("…a sleek and modern design that is perfect", "…They're not only delicious but also"). Chinese
    prose is held to its own sentence endings (`sentence_endings_zh`)."""
    line = text.strip().splitlines()[-1].strip() if text.strip() else ""
    if not line or language == "zh" or CJK.search(line):
        return False
    if not line[-1].isalnum() or line.split()[-1].startswith(("#", "@", "http")):
        return False  # ends on a stop, a closing quote, an emoji or other symbol, a hashtag or a link
    tail = SENTENCE_END.split(line)[-1]
    after_a_sentence = tail != line and len(words(tail, language)) >= 3
    return after_a_sentence or len(words(line, language)) >= LONG_SENTENCE_WORDS


def complete_parts(phrases: list[str], prose: list[str], language: str, *, brief: str = "") -> dict:
    """`complete_sentences` over every part; prose parts also end their last sentence (`prose_cut_off`),
    and, in Chinese, end with 。！？. No English part stops partway through the words of `brief` (the
    product or topic as the creator wrote it: `stops_mid_brief`)."""
    found = complete_sentences(phrases + prose, language)
    if not found["passed"]:
        return found
    if language == "en" and brief:
        for text in phrases + prose:
            if stops_mid_brief(text, brief):
                return check(False, f"{_quote(text.strip()[-40:])} stops partway through the brief's words")
    for text in prose:
        if prose_cut_off(text, language):
            return check(False, f"{_quote(text.strip()[-40:])} stops before its sentence ends")
    if language == "zh":
        endings = sentence_endings_zh([text for text in prose if CJK.search(text)])
        if not endings["passed"]:
            return endings
    return found


def _fluency(scorer, texts: list[str], context: str) -> dict[str, dict]:
    return {"fluency": scorer.reads_fluently(texts, context=context)} if scorer is not None else {}


def copy_checks(
    fields: dict[str, str], *, subject: str, language: str, known: list[str] = (), also: list[str] = (), scorer=None
) -> dict[str, dict]:
    """The content checks of marketing copy: `fields` by name, about `subject` (the product), in
    `language`; `known` words count as real (names), `also` words count as naming the subject
    (keywords); `scorer` (tools_layer.quality.fluency) adds the fluency check."""
    texts = [str(value) for value in fields.values() if str(value).strip()]
    joined = "\n".join(texts)
    language_check = in_requested_language(joined, language)
    found = {"language": language_check}
    if not language_check["passed"]:
        return found  # the other measures read the text as `language`: in another one they say nothing
    found.update(
        {
            "real_words": made_of_real_words(texts, language, known=[subject, *known]),
            "on_subject": names_the_subject(joined, subject, language, also=list(also)),
            **_fluency(scorer, texts, f"Marketing copy for {subject}:"),
            "task_talk": no_task_talk(texts),
            "repetition": no_repetition(texts, language),
            "complete_sentences": complete_parts(
                [str(v) for k, v in fields.items() if k in PHRASE_FIELDS],
                [str(v) for k, v in fields.items() if k not in PHRASE_FIELDS],
                language,
                brief=subject,
            ),
            "shouting": no_shouting(texts),
        }
    )
    return found


def slide_content_checks(
    *, title: str, bullets: list[str], notes: str, subject: str, objectives: list[str], language: str, scorer=None
) -> dict[str, dict]:
    """The content checks of a slide about `subject` (the lesson's topic) teaching `objectives`."""
    texts = [title, *bullets, notes]
    language_check = in_requested_language("\n".join(texts), language)
    found = {"language": language_check}
    if not language_check["passed"]:
        return found
    found.update(
        {
            "real_words": made_of_real_words([*bullets, notes], language, known=[subject, title, *objectives]),
            "on_subject": bullets_on_subject(bullets, [subject, *objectives], language, notes=notes, title=title),
            **_fluency(scorer, bullets + [notes], f"A slide on {subject}: {title}."),
            "task_talk": no_task_talk(texts),
            "repetition": no_repetition(bullets + [notes], language),
            "complete_sentences": complete_parts([title, *bullets], [notes], language),
            "shouting": no_shouting(texts),
        }
    )
    return found


def quiz_content_checks(
    *, question: str, choices: list[str], answer: str, explanation: str, subject: str, language: str, scorer=None
) -> dict[str, dict]:
    """The content checks of a multiple-choice question about `subject`."""
    texts = [question, *choices, explanation]
    # The language is read from the sentences: one-word choices ("Lava", "Magma", "Granite") are names
    # and loan words that a detector takes for another language; they decide only when nothing else can.
    sentences = "\n".join([question, explanation])
    language_check = in_requested_language(
        sentences if letters(sentences) >= MIN_LETTERS_TO_DETECT else "\n".join(texts), language
    )
    found = {"language": language_check}
    if not language_check["passed"]:
        return found
    found.update(
        {
            "real_words": made_of_real_words([question, explanation], language, known=[subject]),
            "choices": distinct_real_choices(choices, language, question=question),
            "gives_away": question_hides_answer(question, answer, language, choices),
            "explanation": explanation_supports_answer(explanation, answer, choices, language, question=question),
            **_fluency(scorer, [question, explanation], f"A quiz question on {subject}:"),
            "task_talk": no_task_talk(texts),
            "complete_sentences": complete_parts([question], [explanation], language),
            "shouting": no_shouting(texts),
        }
    )
    return found


def item_checks(item: dict, *, scorer=None) -> dict[str, dict]:
    """The content checks of one item of the labelled set's shape ({"kind": "copy" | "slide" | "quiz", …})."""
    if item["kind"] == "copy":
        return copy_checks(item["fields"], subject=item["subject"], language=item["language"], scorer=scorer)
    if item["kind"] == "slide":
        return slide_content_checks(
            title=item["title"],
            bullets=item["bullets"],
            notes=item["notes"],
            subject=item["subject"],
            objectives=item["objectives"],
            language=item["language"],
            scorer=scorer,
        )
    return quiz_content_checks(
        question=item["question"],
        choices=item["choices"],
        answer=item["answer"],
        explanation=item["explanation"],
        subject=item["subject"],
        language=item["language"],
        scorer=scorer,
    )
