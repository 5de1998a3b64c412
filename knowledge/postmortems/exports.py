"""A postmortem as Markdown (the sections as written, facts, timeline with ledger hashes, action
items) and as PDF (the same content laid out by fpdf2, a pure-Python library)."""

from datetime import UTC
from pathlib import Path

from fpdf import FPDF

from .models import SECTIONS, Postmortem

# A Unicode font when the system has DejaVu; else the PDF core font, which only knows Latin-1.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def _when(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {sec:02d}s" if hours else f"{minutes}m {sec:02d}s"


def fact_lines(postmortem: Postmortem) -> list[tuple[str, str]]:
    facts = postmortem.facts or {}
    return [
        ("Status", postmortem.get_status_display()),
        ("Incidents", ", ".join(f"#{pk}" for pk in facts.get("incidents", [])) or "—"),
        ("Impact window", f"{facts.get('impact_start') or '—'} → {facts.get('impact_end') or '—'}"),
        ("Time to acknowledge", _duration(facts.get("mtta_seconds"))),
        ("Time to resolve", _duration(facts.get("mttr_seconds"))),
        ("SLA", facts.get("sla") or "—"),
        ("Services", ", ".join(facts.get("services", [])) or "—"),
        ("Responders", ", ".join(facts.get("responders", [])) or "—"),
    ]


def _action_lines(postmortem) -> list[str]:
    lines = []
    for item in postmortem.action_items.select_related("task", "task__assignee"):
        task = item.task
        owner = task.assignee.username if task.assignee else "unassigned"
        due = task.due_at.date().isoformat() if task.due_at else "no due date"
        mark = "x" if task.status == "done" else " "
        lines.append(f"- [{mark}] {task.title} ({owner}, {due}, {task.get_status_display().lower()})")
    return lines


def to_markdown(postmortem: Postmortem) -> str:
    out = [f"# {postmortem.title}", ""]
    out += [f"- **{label}:** {value}" for label, value in fact_lines(postmortem)]
    for key, label in SECTIONS:
        out += ["", f"## {label}", "", getattr(postmortem, key) or "_Not written yet._"]
    out += ["", "## Timeline", "", "| Time (UTC) | Incident | Event | Actor | Ledger sequence | Entry hash |"]
    out += ["|---|---|---|---|---|---|"]
    for row in postmortem.timeline.order_by("sequence"):
        text = row.text.replace("|", "\\|").replace("\n", " ")
        actor = row.actor_label.replace("|", "\\|")
        out.append(
            f"| {_when(row.occurred_at)} | #{row.incident_id} | {text} | {actor} "
            f"| {row.sequence} | `{row.entry_hash}` |"
        )
    out += ["", "## Action items", ""]
    out += _action_lines(postmortem) or ["_None._"]
    out += [
        "",
        f"_Revision {postmortem.revision}. "
        f"Verify the timeline: `manage.py verify_postmortem {postmortem.pk}`._",
        "",
    ]
    return "\n".join(out)


class _Document(FPDF):
    def __init__(self):
        super().__init__(format="A4")
        self.unicode = (FONT_DIR / "DejaVuSans.ttf").exists()
        if self.unicode:
            self.add_font("DejaVu", "", FONT_DIR / "DejaVuSans.ttf")
            self.add_font("DejaVu", "B", FONT_DIR / "DejaVuSans-Bold.ttf")
            self.add_font("DejaVuMono", "", FONT_DIR / "DejaVuSansMono.ttf")
        self.set_auto_page_break(auto=True, margin=15)

    def _font(self, family, style, size):
        if not self.unicode:
            family = "courier" if family == "DejaVuMono" else "helvetica"
        self.set_font(family, style, size)

    def _text(self, text):
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def heading(self, text, size=13):
        self.ln(3)
        self._font("DejaVu", "B", size)
        self.multi_cell(0, 7, self._text(text), new_x="LMARGIN", new_y="NEXT")

    def para(self, text, font="DejaVu", size=10):
        self._font(font, "", size)
        self.multi_cell(0, 5, self._text(text), new_x="LMARGIN", new_y="NEXT")


def to_pdf(postmortem: Postmortem) -> bytes:
    pdf = _Document()
    pdf.set_title(pdf._text(postmortem.title))
    pdf.add_page()
    pdf.heading(postmortem.title, size=17)
    for label, value in fact_lines(postmortem):
        pdf.para(f"{label}: {value}")
    for key, label in SECTIONS:
        pdf.heading(label)
        # Markdown source as plain text: nothing in it is interpreted, so nothing in it can inject.
        pdf.para(getattr(postmortem, key) or "Not written yet.")
    pdf.heading("Timeline")
    for row in postmortem.timeline.order_by("sequence"):
        pdf.para(f"{_when(row.occurred_at)}  #{row.incident_id}  {row.text}  ({row.actor_label})")
        pdf.para(f"    seq {row.sequence}  {row.entry_hash}", font="DejaVuMono", size=7)
    pdf.heading("Action items")
    for line in _action_lines(postmortem) or ["None."]:
        pdf.para(line)
    return bytes(pdf.output())
