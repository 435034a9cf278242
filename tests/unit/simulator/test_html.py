"""Telegram's HTML and MarkdownV2 parse modes: plain text, entities with UTF-16 offsets, Telegram's errors."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.html import EntityParseError, parse_html, parse_markdown_v2, parse_text, utf16_len


def ents(*triples: tuple[Any, ...]) -> list[dict[str, Any]]:
    out = []
    for triple in triples:
        kind, offset, length, *extra = triple
        entity = {"type": kind, "offset": offset, "length": length}
        if extra:
            entity.update(extra[0])
        out.append(entity)
    return out


HTML_CASES = [
    ("plain", "hello", "hello", []),
    ("bold", "<b>hi</b> there", "hi there", ents(("bold", 0, 2))),
    (
        "strong/em/ins/del",
        "<strong>a</strong><em>b</em><ins>c</ins><del>d</del>",
        "abcd",
        ents(("bold", 0, 1), ("italic", 1, 1), ("underline", 2, 1), ("strikethrough", 3, 1)),
    ),
    ("upper-case tags", "<B>x</B>", "x", ents(("bold", 0, 1))),
    ("nested", "<b>a<i>b</i></b>", "ab", ents(("bold", 0, 2), ("italic", 1, 1))),
    ("named references", "&lt;tag&gt; &amp; &quot;q&quot;", '<tag> & "q"', []),
    ("numeric references", "&#65;&#x42;&#x1F600;", "AB😀", []),
    ("emoji shifts offsets", "😀 <b>x</b>", "😀 x", ents(("bold", 3, 1))),
    ("emoji inside entity", "<i>a😀b</i>", "a😀b", ents(("italic", 0, 4))),
    (
        "link",
        '<a href="https://example.org/?a=1&amp;b=2">site</a>',
        "site",
        ents(("text_link", 0, 4, {"url": "https://example.org/?a=1&b=2"})),
    ),
    (
        "link without scheme",
        "<a href='example.org'>x</a>",
        "x",
        ents(("text_link", 0, 1, {"url": "http://example.org"})),
    ),
    (
        "spoiler span",
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
        "st",
        ents(("spoiler", 0, 1), ("spoiler", 1, 1)),
    ),
    (
        "pre with language",
        '<pre><code class="language-python">x = 1</code></pre>',
        "x = 1",
        ents(("pre", 0, 5, {"language": "python"})),
    ),
    ("pre with plain code", "<pre><code>y</code></pre>", "y", ents(("pre", 0, 1))),
    ("inline code", "run <code>ls</code>", "run ls", ents(("code", 4, 2))),
    ("blockquote", "<blockquote>q</blockquote>", "q", ents(("blockquote", 0, 1))),
    (
        "expandable blockquote",
        "<blockquote expandable>q</blockquote>",
        "q",
        ents(("expandable_blockquote", 0, 1)),
    ),
    (
        "custom emoji",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "👍",
        ents(("custom_emoji", 0, 2, {"custom_emoji_id": "5368324170671202286"})),
    ),
    ("empty entity dropped", "<b></b>x", "x", []),
    ("short end tag", "<b>x</>", "x", ents(("bold", 0, 1))),
    ("trimmed whitespace", "\n  <b>x</b>  \n", "x", ents(("bold", 0, 1))),
    ("newlines kept inside", "a\n<i>b</i>", "a\nb", ents(("italic", 2, 1))),
    (
        "unquoted attribute",
        "<a href=example.org>x</a>",
        "x",
        ents(("text_link", 0, 1, {"url": "http://example.org"})),
    ),
]


@pytest.mark.parametrize(("name", "source", "text", "entities"), HTML_CASES, ids=[c[0] for c in HTML_CASES])
def test_parse_html(name: str, source: str, text: str, entities: list[dict[str, Any]]) -> None:
    """Each input gives Telegram's plain text and entities."""
    parsed = parse_html(source)
    assert parsed.text == text
    assert parsed.entities == entities


HTML_ERRORS = [
    ("unknown tag", "<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
    ("stray less-than", "a < b", 'Unsupported start tag "" at byte offset 2'),
    ("unclosed start tag", "a <b", "Unclosed start tag at byte offset 2"),
    ("unclosed element", "<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("mismatched", "<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
    ("unexpected end", "x</b>", "Unexpected end tag at byte offset 1"),
    ("span without class", "<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
    ("stray ampersand", "R&D", "Unsupported character reference at byte offset 1"),
    ("unknown reference", "&nbsp;", "Unsupported character reference"),
    ("byte offsets count UTF-8", "é <x>", 'Unsupported start tag "x" at byte offset 3'),
    ("attribute without value", "<a href>x</a>", "Expected equal sign"),
]


@pytest.mark.parametrize(("name", "source", "message"), HTML_ERRORS, ids=[c[0] for c in HTML_ERRORS])
def test_parse_html_errors(name: str, source: str, message: str) -> None:
    """Broken markup raises with Telegram's wording."""
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert message in str(caught.value)


def test_lenient_ampersand_matches_telegram() -> None:
    """With strict_ampersand=False a stray '&' stays literal, as on Telegram."""
    assert parse_html("R&D &amp; co", strict_ampersand=False).text == "R&D & co"


def test_text_mention_with_resolver() -> None:
    """tg://user links become text_mention when the user is known."""
    user = {"id": 42, "is_bot": False, "first_name": "A"}
    parsed = parse_html(
        '<a href="tg://user?id=42">A</a>', resolve_user=lambda uid: user if uid == 42 else None
    )
    assert parsed.entities == [{"type": "text_mention", "offset": 0, "length": 1, "user": user}]


def test_utf16_len() -> None:
    """Characters outside the BMP count as two code units."""
    assert utf16_len("a😀é") == 4


MARKDOWN_CASES = [
    ("bold italic", "*b* _i_", "b i", ents(("bold", 0, 1), ("italic", 2, 1))),
    (
        "underline spoiler strike",
        "__u__ ||s|| ~t~",
        "u s t",
        ents(("underline", 0, 1), ("spoiler", 2, 1), ("strikethrough", 4, 1)),
    ),
    ("escapes", r"1\.5 \- \*", "1.5 - *", []),
    (
        "code and pre",
        "`c` ```python\nx\n```",
        "c x",
        ents(("code", 0, 1), ("pre", 2, 1, {"language": "python"})),
    ),
    (
        "link",
        "[site](https://example.org)",
        "site",
        ents(("text_link", 0, 4, {"url": "https://example.org"})),
    ),
]


@pytest.mark.parametrize(
    ("name", "source", "text", "entities"), MARKDOWN_CASES, ids=[c[0] for c in MARKDOWN_CASES]
)
def test_parse_markdown_v2(name: str, source: str, text: str, entities: list[dict[str, Any]]) -> None:
    """MarkdownV2 basics."""
    parsed = parse_markdown_v2(source)
    assert (parsed.text, parsed.entities) == (text, entities)


def test_markdown_v2_reserved_character() -> None:
    """Unescaped reserved characters are refused like on Telegram."""
    with pytest.raises(EntityParseError, match=r"Character '\.' is reserved"):
        parse_markdown_v2("fin.")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity"):
        parse_markdown_v2("*gras")


def test_parse_text_modes() -> None:
    """parse_text dispatches on the mode, keeps explicit entities, and refuses unknown modes."""
    assert parse_text("<b>x</b>", "HTML").entities == ents(("bold", 0, 1))
    assert parse_text("<b>x</b>", None).text == "<b>x</b>"
    assert parse_text(" ab", None, entities=ents(("bold", 1, 2))).entities == ents(("bold", 0, 2))
    with pytest.raises(LookupError):
        parse_text("x", "BBCode")
