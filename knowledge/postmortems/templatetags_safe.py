"""Sections as safe HTML: Markdown rendered and sanitized by the project's one renderer."""

from opsplatform.core.markdown import render_markdown

from .models import SECTIONS


def rendered_sections(postmortem) -> dict[str, str]:
    return {key: render_markdown(getattr(postmortem, key)) for key, _ in SECTIONS}
