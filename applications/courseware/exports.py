"""A lesson as PPTX (speaker notes included), Markdown and PDF, and its quiz in Moodle GIFT; each says
that the content is AI-generated (PPTX core properties, PDF metadata, a line in Markdown and GIFT)."""
import io
import re
from pathlib import Path

from django.utils import timezone
from django.utils.text import slugify

from applications.courseware.models import Lesson

DISCLOSURE = "AI-generated"
# A Unicode TrueType font for PDFs where the system has one (Debian's fonts-dejavu); else a core font.
PDF_FONT_FILES = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                  Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")]


def disclosure(lesson: Lesson) -> str:
    return (f"{DISCLOSURE} by {lesson.generator or 'a text generator'} on the AIGC Platform; "
            "a teacher should review it before use.")


def filename(lesson: Lesson, fmt: str) -> str:
    extension = "gift.txt" if fmt == "gift" else fmt
    return f"lesson-{lesson.pk}-{slugify(lesson.topic)[:40] or 'courseware'}.{extension}"


def _grade(lesson: Lesson) -> str:
    return "College" if lesson.grade_level >= 13 else f"Grade {lesson.grade_level}"


def as_markdown(lesson: Lesson) -> tuple[str, str]:
    plan = lesson.lesson_plan or {}
    lines = [
        "---", f"title: {lesson.topic}", f"grade_level: {lesson.grade_level}", f"language: {lesson.language}",
        f"generator: {lesson.generator}", "ai_generated: true", f"disclosure: {disclosure(lesson)}", "---", "",
        f"# {lesson.topic}", "", f"_{disclosure(lesson)}_", "", f"{_grade(lesson)} · {plan.get('total_minutes', '?')} minutes", "",
        "## Lesson plan", "", "### Objectives", "",
    ]
    lines += [f"- {objective}" for objective in plan.get("objectives", lesson.objectives)]
    lines += ["", plan.get("overview", ""), "", "### Activities", "", "| Activity | Minutes | What students do |", "| --- | --- | --- |"]
    lines += [f"| {a['name']} | {a['minutes']} | {a['description']} |" for a in plan.get("activities", [])]
    lines += ["", "## Slides", ""]
    for number, slide in enumerate(lesson.slides, start=1):
        lines += [f"### {number}. {slide['title']}", ""] + [f"- {bullet}" for bullet in slide["bullets"]]
        lines += ["", f"> Speaker notes: {slide['notes']}", ""]
    lines += ["## Quiz", ""]
    for number, item in enumerate(lesson.quiz, start=1):
        lines += [f"{number}. {item['question']}", ""]
        lines += [f"   - [{'x' if choice == item['answer'] else ' '}] {choice}" for choice in item["choices"]]
        lines += ["", f"   Answer: {item['answer']}. {item['explanation']}", ""]
    return "\n".join(lines), "text/markdown; charset=utf-8"


def _gift_escape(text: str) -> str:
    return re.sub(r"([~=#{}:\\])", r"\\\1", " ".join(str(text).split()))


def as_gift(lesson: Lesson) -> tuple[str, str]:
    """Moodle GIFT: one multiple-choice question per item, the explanation as general feedback."""
    lines = [f"// {lesson.topic} ({_grade(lesson)}): quiz", f"// {disclosure(lesson)}", ""]
    for number, item in enumerate(lesson.quiz, start=1):
        choices = " ".join(f"{'=' if choice == item['answer'] else '~'}{_gift_escape(choice)}" for choice in item["choices"])
        lines += [f"::Q{number}:: {_gift_escape(item['question'])} {{ {choices} ####{_gift_escape(item['explanation'])} }}", ""]
    return "\n".join(lines), "text/plain; charset=utf-8"


def as_pptx(lesson: Lesson) -> tuple[bytes, str]:
    """A title slide, one slide per lesson slide (bullets, the notes as speaker notes), and one per quiz question."""
    from pptx import Presentation
    from pptx.util import Pt

    deck = Presentation()
    title_layout, content_layout = deck.slide_layouts[0], deck.slide_layouts[1]
    cover = deck.slides.add_slide(title_layout)
    cover.shapes.title.text = lesson.topic
    cover.placeholders[1].text = f"{_grade(lesson)} · {DISCLOSURE}"
    cover.notes_slide.notes_text_frame.text = disclosure(lesson)

    def bulleted(title: str, bullets: list[str], notes: str) -> None:
        slide = deck.slides.add_slide(content_layout)
        slide.shapes.title.text = title
        frame = slide.placeholders[1].text_frame
        frame.text = bullets[0] if bullets else ""
        for bullet in bullets[1:]:
            frame.add_paragraph().text = bullet
        for paragraph in frame.paragraphs:
            for run in paragraph.runs:
                run.font.size = Pt(22)
        slide.notes_slide.notes_text_frame.text = notes

    for slide in lesson.slides:
        bulleted(slide["title"], slide["bullets"], slide["notes"])
    for number, item in enumerate(lesson.quiz, start=1):
        bulleted(f"Quiz {number}: {item['question']}", [f"{'ABCD'[i]}. {choice}" for i, choice in enumerate(item["choices"])],
                 f"Answer: {item['answer']}. {item['explanation']}")

    properties = deck.core_properties
    properties.title = lesson.topic
    properties.subject = f"Lesson for {_grade(lesson).lower()}"
    properties.author = "AIGC Platform"
    properties.keywords = f"{DISCLOSURE}; courseware; {lesson.generator}"
    properties.comments = disclosure(lesson)
    properties.category = DISCLOSURE
    properties.language = lesson.language
    properties.created = properties.modified = timezone.now().replace(tzinfo=None)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue(), "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def as_pdf(lesson: Lesson) -> tuple[bytes, str]:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(lesson.topic)
    pdf.set_author("AIGC Platform")
    pdf.set_subject(disclosure(lesson))
    pdf.set_keywords(f"{DISCLOSURE}, courseware, {lesson.generator}")
    pdf.set_creator("AIGC Platform courseware")
    pdf.set_creation_date(timezone.now())
    font_file = next((path for path in PDF_FONT_FILES if path.exists()), None)
    if font_file is not None:
        pdf.add_font("body", fname=str(font_file))
        family = "body"

        def clean(text: str) -> str:
            return str(text)
    else:
        family = "helvetica"

        def clean(text: str) -> str:
            return str(text).encode("latin-1", "replace").decode("latin-1")

    plan = lesson.lesson_plan or {}
    pdf.add_page()

    def heading(text: str, size: int) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, size * 0.55, clean(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def para(text: str, size: int = 11) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, 6, clean(text), new_x="LMARGIN", new_y="NEXT")

    heading(lesson.topic, 20)
    para(f"{_grade(lesson)} · {plan.get('total_minutes', '?')} minutes · {disclosure(lesson)}", 9)
    pdf.ln(3)
    heading("Lesson plan", 15)
    para("Objectives: " + "; ".join(plan.get("objectives", lesson.objectives)))
    para(plan.get("overview", ""))
    for activity in plan.get("activities", []):
        para(f"• {activity['name']} ({activity['minutes']} min): {activity['description']}")
    pdf.ln(3)
    heading("Slides", 15)
    for number, slide in enumerate(lesson.slides, start=1):
        heading(f"{number}. {slide['title']}", 13)
        for bullet in slide["bullets"]:
            para(f"• {bullet}")
        para(f"Speaker notes: {slide['notes']}", 9)
        pdf.ln(2)
    heading("Quiz", 15)
    for number, item in enumerate(lesson.quiz, start=1):
        para(f"{number}. {item['question']}")
        for position, choice in enumerate(item["choices"]):
            para(f"    {'ABCD'[position]}. {choice}")
        para(f"Answer: {item['answer']}. {item['explanation']}", 9)
        pdf.ln(2)
    return bytes(pdf.output()), "application/pdf"


FORMATS = {"pptx": as_pptx, "md": as_markdown, "pdf": as_pdf, "gift": as_gift}
LABELS = {"pptx": "PowerPoint (PPTX)", "md": "Markdown", "pdf": "PDF", "gift": "Moodle quiz (GIFT)"}
CONTENT_TYPES = {
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "md": "text/markdown", "pdf": "application/pdf", "gift": "text/plain",
}
