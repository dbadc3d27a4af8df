"""An export's fixed words (headings, notes, answers, the AI disclosure) are in the language of what
it exports, whatever the page's language; the words programs read (front matter keys, CSV header) stay."""

import csv
import io

import pytest

from applications.courseware.models import Lesson
from applications.marketing.models import Generation, Template, Variant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("marketing_templates")]


def _lesson(owner, language: str) -> Lesson:
    return Lesson.objects.create(
        owner=owner,
        topic="火山" if language == "zh" else "Volcanoes",
        grade_level=6,
        objectives=["解释火山为什么喷发"],
        slide_count=1,
        quiz_questions=1,
        language=language,
        generator="smollm2-135m-instruct v1",
        lesson_plan={
            "objectives": ["解释火山为什么喷发"],
            "overview": "概述",
            "total_minutes": 45,
            "activities": [{"name": "热身", "minutes": 5, "description": "提问"}],
        },
        slides=[{"title": "火山为什么喷发", "bullets": ["岩浆上升"], "notes": "展示照片"}],
        quiz=[
            {
                "question": "火山里什么在上升？",
                "choices": ["岩浆", "冰", "沙", "盐"],
                "answer": "岩浆",
                "explanation": "熔岩上升。",
            }
        ],
    )


def test_a_chinese_lessons_export_speaks_chinese_and_an_english_one_english(client_for, creator):
    client = client_for(creator)
    chinese = client.get(
        f"/api/v1/courseware/{_lesson(creator, 'zh').pk}/export/?format=md", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert (
        "## 教案" in chinese
        and "## 幻灯片" in chinese
        and "> 演讲者备注：展示照片" in chinese
        and "答案：岩浆。熔岩上升。" in chinese
    )
    assert "ai_generated: true" in chinese and "AI 生成内容" in chinese and "Speaker notes" not in chinese
    english = client.get(
        f"/api/v1/courseware/{_lesson(creator, 'en').pk}/export/?format=md", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "## Lesson plan" in english and "> Speaker notes: 展示照片" in english and "教案" not in english


def test_a_chinese_generations_markdown_speaks_chinese_and_its_csv_header_stays(client_for, creator):
    generation = Generation.objects.create(
        owner=creator,
        template=Template.objects.get(slug="ad-headline"),
        product="登山靴",
        audience="徒步爱好者",
        tone="活泼",
        language="zh",
        variant_count=1,
        generator="qwen v1",
    )
    Variant.objects.create(generation=generation, index=0, text="干爽每一步", passed=True)
    client = client_for(creator)
    markdown = client.get(f"/api/v1/marketing/generations/{generation.pk}/export/?format=md").content.decode()
    assert "## 版本 1" in markdown and "受众：徒步爱好者" in markdown and "发布前请审阅" in markdown
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(f"/api/v1/marketing/generations/{generation.pk}/export/?format=csv").content.decode()
            )
        )
    )
    assert rows[0]["text"] == "干爽每一步" and rows[0]["ai_generated"] == "true"
