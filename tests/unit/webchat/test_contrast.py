"""Contrast of the web chat's text on buttons and of its timestamps, computed from `webchat.css`.

WCAG 2 AA asks 4.5:1 for text under 18.66 px bold / 24 px: every button label and the 11 px grey
timestamps are such text. The colours are read from the stylesheet itself (custom properties
resolved), so changing a colour there is checked here.
"""

from __future__ import annotations

import re
from importlib import resources

import pytest

AA = 4.5

# (what, selector of the text colour, selector of the background it sits on)
PAIRS = [
    ("inline button", ".inline-button", ".inline-button"),
    ("start button", ".start-button", ".start-button"),
    ("send button", ".send", ".send"),
    ("dialog button", '.dialog-buttons button[type="submit"]', '.dialog-buttons button[type="submit"]'),
    ("unread badge", ".badge", ".badge"),
    ("add persona", ".add-persona", ".personas"),
    ("chat tab", ".chat-tab", ".chat-head"),
    ("selected chat tab", '.chat-tab[aria-selected="true"]', '.chat-tab[aria-selected="true"]'),
    ("timestamp, received", ".meta", ".bubble"),
    ("timestamp, sent", ".meta", ".msg.out .bubble"),
    ("reply button, received", ".reply-button", ".bubble"),
    ("reply button, sent", ".reply-button", ".msg.out .bubble"),
    ("command description", ".commands button small", ".attach-menu button, .commands button"),
    ("top bar", ".topbar", ".topbar"),
    ("avatar of another role", ".avatar", ".avatar"),
    *(
        (f"{role} avatar", ".avatar", f'.avatar[data-role="{role}"]')
        for role in ("resident", "student", "facilitator", "organiser", "desk", "bot")
    ),
]


def stylesheet() -> str:
    return (resources.files("simulator.webchat") / "static" / "webchat.css").read_text("utf-8")


def rules(css: str) -> dict[str, dict[str, str]]:
    """Selector -> declarations, for the rules outside media queries (later rules win, like CSS)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}", "", css)
    found: dict[str, dict[str, str]] = {}
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {}
        for declaration in body.split(";"):
            if ":" in declaration:
                name, value = declaration.split(":", 1)
                declarations[name.strip()] = value.strip()
        found.setdefault(" ".join(selector.split()), {}).update(declarations)
    return found


def resolve(value: str, variables: dict[str, str]) -> str:
    while (found := re.search(r"var\((--[\w-]+)\)", value)) is not None:
        value = value.replace(found.group(0), variables[found.group(1)])
    return value


def rgba(value: str) -> tuple[float, float, float, float]:
    value = value.strip()
    if value.startswith("#"):
        digits = value[1:]
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), 1.0)
    found = re.fullmatch(r"rgba?\(([^)]*)\)", value)
    assert found is not None, f"not a colour: {value!r}"
    parts = [float(p) for p in re.split(r"[\s,/]+", found.group(1).strip()) if p]
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else 1.0)


def over(
    top: tuple[float, float, float, float], below: tuple[float, float, float]
) -> tuple[float, float, float]:
    """`top` painted over an opaque colour."""
    alpha = top[3]
    return tuple(alpha * t + (1 - alpha) * b for t, b in zip(top[:3], below, strict=True))  # type: ignore[return-value]


def luminance(colour: tuple[float, float, float]) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


class Sheet:
    """The stylesheet's colours: a property of a selector, inherited from `:root` when not set."""

    def __init__(self, css: str) -> None:
        self.rules = rules(css)
        self.variables = {k: v for k, v in self.rules[":root"].items() if k.startswith("--")}
        self.page = rgba(resolve(self.rules["html, body"]["background"], self.variables))[:3]

    def colour(self, selector: str, prop: str) -> tuple[float, float, float, float]:
        declarations = self.rules[selector]
        value = declarations.get(prop) or (
            declarations.get("background") if prop == "background-color" else None
        )
        if value is None and prop == "color":
            value = self.rules[":root"]["color"]
        assert value is not None, f"{selector} sets no {prop}"
        return rgba(resolve(value, self.variables))


def test_the_parser_reads_the_root_colours() -> None:
    """The custom properties are found, so the pairs below really read the stylesheet."""
    sheet = Sheet(stylesheet())
    assert {"--accent", "--accent-ink", "--muted", "--in", "--out"} <= set(sheet.variables)


@pytest.mark.parametrize(("what", "text", "background"), PAIRS, ids=[pair[0] for pair in PAIRS])
def test_text_on_buttons_and_timestamps_reach_aa(what: str, text: str, background: str) -> None:
    """At least 4.5:1 between each text and the (composited) background it sits on."""
    sheet = Sheet(stylesheet())
    below = over(sheet.colour(background, "background-color"), sheet.page)
    ink = over(sheet.colour(text, "color"), below)
    ratio = contrast(ink, below)
    assert ratio >= AA, f"{what}: {ratio:.2f}:1"
