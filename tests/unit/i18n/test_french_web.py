"""No English word on a French screen of the web chat or the dashboard.

Scans what a French reader sees there: the web chat's French texts (`webchat.js`, and the page's
default French in `index.html`), the text the dashboard's templates write themselves (the rest
comes from the catalog), and the French dashboard catalog. The browser test of the dashboard
scans the rendered French pages with the same word list.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]

# English words a French screen of ours could show by mistake (words French shares, such as
# "message", "questions", "type" or "bot", are not listed), the English command names, and the
# outbox's internal purpose keys.
ENGLISH_WORDS = frozenset(
    {
        "the", "and", "or", "of", "to", "for", "with", "your", "you", "not", "yet", "no", "yes", "is",
        "are", "available", "nothing", "sent", "send", "everything", "happens", "computer", "people",
        "add", "cancel", "name", "role", "language", "reply", "edited", "download", "commands", "link",
        "error", "offline", "connected", "keyboard", "attach", "start", "help",
        "check-in", "checked", "waiting", "answer", "answered", "closed", "claimed", "team", "teams",
        "meal", "meals", "coming", "headcount", "broadcast", "reminder", "purpose", "registered",
        "registrations", "overview", "figures", "refreshed", "every", "seconds", "sign", "signed",
        "out", "frame", "chart", "delivery", "announcements", "pending", "failed",
        "blocked", "expired", "cancelled", "profile", "mydata", "forget", "q_answer", "q_edit", "q_relay",
    }
)  # fmt: skip
ENGLISH_COMMANDS = ("/profile", "/mydata", "/forget", "/help")
WORD = re.compile(r"/?[A-Za-zÀ-ÿ_]+(?:-[A-Za-zÀ-ÿ]+)*")


def english_words(text: str) -> list[str]:
    """The English words (and English command names) found in a French text."""
    found = []
    for token in WORD.findall(re.sub(r"\{\w+\}", " ", text)):  # {placeholders} are not shown
        if token.startswith("/"):
            if token.lower() in ENGLISH_COMMANDS:
                found.append(token)
            continue  # a command of the bot: its name is the catalog's business
        if token.lower() in ENGLISH_WORDS:
            found.append(token)
    return found


class _Text(HTMLParser):
    """Text nodes and the attributes people read (title, aria-label, placeholder, alt)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts += [
            value for name, value in attrs if name in ("title", "aria-label", "placeholder", "alt") and value
        ]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(source: str) -> str:
    parser = _Text()
    parser.feed(source)
    return " ".join(parser.parts)


def webchat_static(name: str) -> str:
    return (resources.files("simulator.webchat") / "static" / name).read_text("utf-8")


def french_webchat_strings() -> list[str]:
    """The string literals of the `fr` texts in webchat.js."""
    script = webchat_static("webchat.js")
    start = script.index("    fr: {")
    block = script[start : script.index("    en: {", start)]
    return re.findall(r'"((?:[^"\\]|\\.)*)"', block)


def template_text(path: Path) -> str:
    """What a template writes itself: its text without Jinja expressions, statements or comments."""
    source = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", path.read_text("utf-8"), flags=re.S)
    return html_text(source)


def catalog_values(tree: object) -> list[str]:
    if isinstance(tree, dict):
        return [text for value in tree.values() for text in catalog_values(value)]
    return [str(tree)]


def test_the_word_list_catches_what_the_trial_saw() -> None:
    """The scan finds the English the trial found ("check-in not available yet", "/mydata", `q_answer`)."""
    assert english_words("check-in not available yet") == ["check-in", "not", "available", "yet"]
    assert english_words("Voir /mydata ou /mesdonnees") == ["/mydata"]
    assert english_words("q_answer") == ["q_answer"]
    assert english_words("Présents : 4 · Équipe d'animation · /dashboard") == []


def test_webchat_french_texts() -> None:
    """Every French text of the web chat's script."""
    strings = french_webchat_strings()
    assert "Répétition" in strings and len(strings) > 30
    assert [(s, english_words(s)) for s in strings if english_words(s)] == []


def test_webchat_page_default_french() -> None:
    """The page before its script runs (French is written in the HTML)."""
    text = html_text(webchat_static("index.html"))
    assert "Rien n'est envoyé sur Telegram" in text
    assert english_words(text) == []


@pytest.mark.parametrize("path", sorted((ROOT / "web" / "templates").glob("*.html")), ids=lambda p: p.name)
def test_dashboard_templates_write_no_english(path: Path) -> None:
    """Text written by a template itself, outside the catalog."""
    assert english_words(template_text(path)) == []


def test_french_dashboard_catalog() -> None:
    """Every French text of the dashboard."""
    tree = yaml.safe_load((ROOT / "bot" / "locales" / "fr" / "dashboard.yaml").read_text("utf-8"))
    texts = catalog_values(tree)
    assert len(texts) > 50
    assert [(text, english_words(text)) for text in texts if english_words(text)] == []
