"""The interface in two languages: every template's words go through Django's translation, every
catalogue entry is translated and compiled, pages follow the browser or the person's choice (kept per
user), and the API answers errors in the language the request asks for."""

import re
from gettext import GNUTranslations
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from aigc_platform.accounts.models import Preference
from applications.marketing.models import Generation, Template, Variant

ROOT = Path(settings.BASE_DIR)
TEMPLATES = sorted(path for path in ROOT.glob("**/templates/**/*.html") if ".venv" not in path.parts)
LOCALE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
# Attributes whose value a person reads (or a screen reader says).
READ_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
# Text that is the same in every language: names of formats and an example of code.
SAME_IN_EVERY_LANGUAGE = {
    "JSONL",
    "CSV",
    "A",
    "B",
    "en, zh",
    '{"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}',
}
WORDS = re.compile(r"[A-Za-z]{2,}")
# A name or code with digits or hyphens and no spaces (a slug, an SPDX licence id) reads the same everywhere.
IDENTIFIER = re.compile(r"(?=.*[-\d])[\w.-]+")


class _Text(HTMLParser):
    """Collects the words a person reads in a template from which Django's tags and variables were removed."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skipping += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self._keep(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self._keep(data)

    def _keep(self, text: str) -> None:
        text = text.strip()
        if text and text not in SAME_IN_EVERY_LANGUAGE and not IDENTIFIER.fullmatch(text) and WORDS.search(text):
            self.found.append(text)


def untranslated_text(source: str) -> list[str]:
    """The words of a template that are outside {% translate %} and {% blocktranslate %}."""
    source = re.sub(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", " ", source, flags=re.S)
    source = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", " ", source, flags=re.S)
    parser = _Text()
    parser.feed(source)
    return parser.found


def test_the_check_finds_words_outside_the_translation_system():
    # Given a template with a translated heading, a variable and one plain sentence
    source = (
        '{% load i18n %}<h1>{% translate "Jobs" %}</h1><p title="Quota used">{{ job.kind }}</p><p>Nothing here.</p>'
    )
    # then the sentence and the title are found, and nothing else
    assert untranslated_text(source) == ["Quota used", "Nothing here."]
    assert (
        untranslated_text("{% blocktranslate %}<b>{{ n }}</b> files{% endblocktranslate %}<code>SHA-256</code>") == []
    )


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_template_keeps_its_words_in_the_translation_system(template):
    assert untranslated_text(template.read_text(encoding="utf-8")) == []


def test_no_template_carries_a_script_of_its_own():
    inline = [
        str(path.relative_to(ROOT))
        for path in TEMPLATES
        if re.search(r"<script>(?!\s*</script>)", path.read_text(encoding="utf-8"))
    ]
    assert inline == []


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_message_has_a_chinese_translation_and_the_compiled_catalogue_is_current(domain):
    catalogue = polib.pofile(str(LOCALE / f"{domain}.po"))
    untranslated = [entry.msgid for entry in catalogue if not entry.obsolete and not entry.translated()]
    assert untranslated == []
    assert len(catalogue) > 50
    # The committed .mo is what the .po says (a fresh machine needs no gettext to compile it).
    with open(LOCALE / f"{domain}.mo", "rb") as compiled:
        translations = GNUTranslations(compiled)
    for entry in catalogue:
        if entry.obsolete or entry.msgid_plural or "fuzzy" in entry.flags:
            continue
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        assert translations._catalog.get(key) == entry.msgstr, entry.msgid


@pytest.mark.django_db
def test_pages_follow_the_browser_until_a_person_chooses_and_the_choice_is_kept(client, password):
    User = get_user_model()
    user = User.objects.create_user(username="lin", password=password)
    client.force_login(user)
    # A browser that asks for Chinese gets the page in Chinese, and in English otherwise
    chinese = client.get("/marketing/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert chinese.status_code == 200
    assert '<html lang="zh-hans">' in chinese.content.decode() and "营销文案" in chinese.content.decode()
    english = client.get("/marketing/", HTTP_ACCEPT_LANGUAGE="en-US")
    assert '<html lang="en">' in english.content.decode() and "Marketing copy" in english.content.decode()
    # When the person picks Chinese in the header, it sticks to them, whatever the browser says
    switched = client.post("/i18n/language/", {"language": "zh-hans", "next": "/courseware/"})
    assert switched.status_code == 302 and switched["Location"] == "/courseware/"
    assert Preference.objects.get(user=user).language == "zh-hans"
    client.cookies.clear()
    client.force_login(user)
    again = client.get("/courseware/", HTTP_ACCEPT_LANGUAGE="en-US")
    assert '<html lang="zh-hans">' in again.content.decode() and "课件" in again.content.decode()
    # An unknown language falls back to the default; a redirect off the site is refused
    refused = client.post("/i18n/language/", {"language": "xx", "next": "https://evil.example/"})
    assert refused["Location"] == "/" and Preference.objects.get(user=user).language == "en"


def test_the_javascript_catalogue_serves_chinese(client):
    # The pages' scripts take their words from this catalogue (escaped as \\uXXXX in its JSON)
    chinese = client.get("/i18n/catalog.js", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode("unicode_escape")
    english = client.get("/i18n/catalog.js", HTTP_ACCEPT_LANGUAGE="en").content.decode("unicode_escape")
    assert '"Accept": "采纳"' in chinese and '"Accept": "采纳"' not in english
    assert '"status\x04running": "运行中"' in chinese


@pytest.mark.django_db
def test_api_errors_follow_accept_language(client_for, creator):
    client = client_for(creator)
    body = {"template": "ad-headline", "audience": "hikers", "tone": "bold"}
    chinese = client.post("/api/v1/marketing/generations/", body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    english = client.post("/api/v1/marketing/generations/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert chinese.status_code == english.status_code == 400
    assert english.json()["error"]["fields"]["product"] == ["This field is required."]
    assert chinese.json()["error"]["fields"]["product"] == ["该字段是必填项。"]
    # and so do the platform's own messages: a rejection without a reason, a variant that is not there
    template = Template.objects.create(
        slug="tagline",
        name="Tagline",
        prompt="Write a tagline for {product}.",
        fields=[{"name": "text", "label": "Text", "min_chars": 5, "max_chars": 60}],
    )
    generation = Generation.objects.create(
        owner=creator,
        template=template,
        product="boots",
        audience="hikers",
        tone="bold",
        language="en",
        variant_count=1,
    )
    variant = Variant.objects.create(generation=generation, index=0, text="Dry feet, every trail.")
    refused = client.post(
        f"/api/v1/marketing/variants/{variant.pk}/review/",
        {"verdict": "rejected"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert refused.status_code == 400 and refused.json()["error"]["message"] == "请说明拒绝的理由。"
    missing = client.post(
        "/api/v1/marketing/variants/999999/review/",
        {"verdict": "accepted"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "没有编号为 999999 的文案版本。"
    assert (
        client.post(
            "/api/v1/marketing/variants/999999/review/",
            {"verdict": "accepted"},
            format="json",
            HTTP_ACCEPT_LANGUAGE="en",
        ).json()["error"]["message"]
        == "No variant with id 999999."
    )
