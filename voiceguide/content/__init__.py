"""Spoken content and grammars, loaded from TOML data and validated by pydantic."""

from voiceguide.content.loader import ContentError, load_content, load_demo, load_grammars
from voiceguide.content.models import (
    Content,
    Exercise,
    GrammarBook,
    Locale,
    PromptBook,
    PromptId,
    Question,
)

__all__ = [
    "Content",
    "ContentError",
    "Exercise",
    "GrammarBook",
    "Locale",
    "PromptBook",
    "PromptId",
    "Question",
    "load_content",
    "load_demo",
    "load_grammars",
]
