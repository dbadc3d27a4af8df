"""Exports keep Chinese text and mark failed items: the PDF embeds a CJK font (fpdf2 dropped every
glyph before), the PPTX names an East Asian typeface, GIFT and CSV carry the characters, and an item
that failed its checks says so, with its reasons, in every format."""

import csv
import io
import re
import zlib

import pytest
from pptx import Presentation
from pptx.oxml.ns import qn

from applications.courseware import exports as lesson_exports
from applications.courseware.models import Lesson
from applications.marketing import exports as copy_exports
from applications.marketing.models import Generation, Template, Variant

pytestmark = pytest.mark.django_db

FAILED_SLIDE = {
    "passed": False,
    "attempts": 5,
    "tries": [],
    "checks": {
        "language": {"passed": True, "detail": "written in Chinese"},
        "real_words": {"passed": False, "detail": "40% real words in '鼱鼩鼯'"},
    },
}
PASSED = {
    "passed": True,
    "attempts": 1,
    "tries": [],
    "checks": {"language": {"passed": True, "detail": "written in Chinese"}},
}


@pytest.fixture
def chinese_lesson(creator):
    return Lesson.objects.create(
        owner=creator,
        topic="水循环",
        grade_level=4,
        objectives=["描述蒸发和凝结"],
        slide_count=2,
        quiz_questions=1,
        language="zh",
        generator="tiny-zh v1",
        lesson_plan={
            "objectives": ["描述蒸发和凝结"],
            "overview": "学生了解水是怎样循环的。",
            "total_minutes": 40,
            "activities": [{"name": "热身", "minutes": 10, "description": "说说水坑去哪儿了。"}],
        },
        slides=[
            {"title": "蒸发", "bullets": ["太阳把湖水加热", "水蒸气升到空中"], "notes": "问学生：水坑去哪儿了？"},
            {"title": "凝结", "bullets": ["鼱鼩鼯", "鼷鼹"], "notes": "水蒸气遇冷变成云。"},
        ],
        quiz=[
            {
                "question": "水蒸气遇冷会变成什么？",
                "choices": ["云", "盐", "沙", "光"],
                "answer": "云",
                "explanation": "冷空气使水蒸气凝结成小水滴。",
            }
        ],
        checks={"lesson_plan": PASSED, "outline": PASSED, "slides": [PASSED, FAILED_SLIDE], "quiz": [PASSED]},
    )


def _pdf_unicode_maps(pdf: bytes) -> str:
    """The PDF's text and the text of its compressed streams (its ToUnicode maps among them)."""
    found = [pdf.decode("latin-1")]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            found.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(found)


def test_a_chinese_lesson_s_pdf_embeds_a_cjk_font_with_every_character_it_shows(chinese_lesson):
    pdf, content_type = lesson_exports.as_pdf(chinese_lesson)
    assert content_type == "application/pdf"
    # Given fpdf2 with the packaged WenQuanYi font, the PDF embeds that font's subset ...
    assert b"/FontFile2" in pdf and b"WenQuanYi" in pdf
    # ... and maps each glyph it drew back to its character: 水, 循, 环, 蒸, 发, 云 are all there
    maps = _pdf_unicode_maps(pdf)
    for char in "水循环蒸发凝结云":
        assert f"<{ord(char):04X}>" in maps, char


def test_a_chinese_lesson_s_pptx_names_an_east_asian_font_and_keeps_its_text(chinese_lesson):
    deck = Presentation(io.BytesIO(lesson_exports.as_pptx(chinese_lesson)[0]))
    texts = [shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame]
    assert "水循环" in texts and "太阳把湖水加热\n水蒸气升到空中" in texts
    runs = [
        run
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_text_frame
        for paragraph in shape.text_frame.paragraphs
        for run in paragraph.runs
    ]
    assert runs and all(
        run._r.rPr.find(qn("a:ea")).get("typeface") == lesson_exports.PPTX_EAST_ASIAN_FONT for run in runs
    )
    assert all(run._r.rPr.get("lang") == "zh-CN" for run in runs)
    # the failed slide's speaker notes open with its failed checks
    notes = deck.slides[2].notes_slide.notes_text_frame.text
    assert "real_words: 40% real words" in notes.splitlines()[0]


def test_gift_and_markdown_keep_the_characters_and_mark_the_failed_slide(chinese_lesson):
    gift = lesson_exports.as_gift(chinese_lesson)[0]
    assert "水蒸气遇冷会变成什么？" in gift and "=云" in gift and "~盐" in gift
    markdown = lesson_exports.as_markdown(chinese_lesson)[0]
    failed_section = markdown.split("### 2. 凝结")[1].split("###")[0]
    assert "real_words: 40% real words" in failed_section
    assert "real_words" not in markdown.split("### 1. 蒸发")[1].split("### 2.")[0]


def test_marketing_csv_keeps_chinese_for_spreadsheets_and_says_why_a_variant_failed(creator):
    template = Template.objects.create(
        slug="slogan-zh",
        name="Slogan",
        prompt="{product}",
        fields=[{"name": "slogan", "label": "Slogan", "min_chars": 2, "max_chars": 40}],
    )
    generation = Generation.objects.create(
        owner=creator,
        template=template,
        product="防水登山靴",
        audience="徒步爱好者",
        tone="活泼",
        language="zh",
        variant_count=2,
        generator="tiny-zh v1",
    )
    Variant.objects.create(
        generation=generation,
        index=0,
        text="防水登山靴，雨天也干爽。",
        passed=True,
        checks={"language": {"passed": True, "detail": "written in Chinese"}},
    )
    Variant.objects.create(
        generation=generation,
        index=1,
        text="Waterproof boots",
        passed=False,
        checks={"language": {"passed": False, "detail": "written in English, not Chinese"}},
    )
    body, content_type = copy_exports.as_csv(generation)
    assert content_type == "text/csv; charset=utf-8"
    encoded = body.encode("utf-8")
    assert encoded.startswith(b"\xef\xbb\xbf")  # the byte-order mark spreadsheets read UTF-8 by
    rows = list(csv.DictReader(io.StringIO(encoded.decode("utf-8-sig"))))
    assert [row["text"] for row in rows] == ["防水登山靴，雨天也干爽。", "Waterproof boots"]
    assert [(row["passed"], row["failed_checks"]) for row in rows] == [
        ("True", ""),
        ("False", "language: written in English, not Chinese"),
    ]
    markdown = copy_exports.as_markdown(generation)[0]
    assert "language: written in English, not Chinese" in markdown.split("Waterproof boots")[0].rsplit("##", 1)[1]
