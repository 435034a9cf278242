"""Telegram's text formatting: the HTML and MarkdownV2 parse modes, turned into plain text plus entities.

The HTML parser follows tdlib's ``parse_html`` (the code behind the real Bot API server) closely: the same
set of tags, the same attribute rules and the same error texts, so a message that the simulator accepts is
one Telegram accepts too.  One deliberate difference, on by default: an ``&`` that does not start one of the
supported character references is an error here (``strict_ampersand``), because it almost always means a
value was inserted without escaping, and the next such value may contain a ``<``.  Telegram itself keeps a
stray ``&`` literally; pass ``strict_ampersand=False`` for that behaviour.

Offsets and lengths of entities are counted in UTF-16 code units, as Telegram does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EntityParseError",
    "ParsedText",
    "parse_html",
    "parse_markdown_v2",
    "parse_text",
    "utf16_len",
]

_SPACES = " \t\r\n\f\v"
_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityParseError(ValueError):
    """The text cannot be parsed; ``str(error)`` is the tail of Telegram's "can't parse entities" text."""


@dataclass(frozen=True)
class ParsedText:
    """Plain text and its entities (Bot API ``MessageEntity`` dictionaries, UTF-16 offsets)."""

    text: str
    entities: list[dict[str, Any]]


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (characters outside the BMP count twice)."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_reference(text: str, index: int) -> tuple[str, int] | None:
    """Decode the character reference starting at ``text[index] == '&'``: (character, next index) or None."""
    end = text.find(";", index + 1, index + 12)
    if end == -1:
        return None
    body = text[index + 1 : end]
    if body in _NAMED_REFERENCES:
        return _NAMED_REFERENCES[body], end + 1
    code: int | None = None
    if re.fullmatch(r"#[0-9]{1,7}", body):
        code = int(body[1:])
    elif re.fullmatch(r"#[xX][0-9a-fA-F]{1,6}", body):
        code = int(body[2:], 16)
    # Like tdlib: zero, surrogates and values past Unicode are not characters.
    if code is None or code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), end + 1


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    expandable: bool = False
    extra: str = ""


def parse_html(
    text: str,
    *,
    strict_ampersand: bool = True,
    resolve_user: Any = None,
) -> ParsedText:
    """Parse Telegram-flavoured HTML into plain text and entities.

    ``resolve_user`` is an optional callable ``(user_id) -> dict | None`` used to turn
    ``<a href="tg://user?id=N">`` into a ``text_mention``; without it such links stay ``text_link``.
    """
    out: list[str] = []
    utf16_offset = 0
    entities: list[dict[str, Any]] = []
    stack: list[_OpenTag] = []
    size = len(text)
    i = 0
    while i < size:
        char = text[i]
        if char == "&":
            decoded = _decode_reference(text, i)
            if decoded is not None:
                out.append(decoded[0])
                utf16_offset += utf16_len(decoded[0])
                i = decoded[1]
                continue
            if strict_ampersand:
                raise EntityParseError(
                    f"Unsupported character reference at byte offset {_byte_offset(text, i)}"
                    " (escape '&' as &amp;)"
                )
        if char != "<":
            out.append(char)
            utf16_offset += 2 if ord(char) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if i < size and text[i] == "/":
            i = _close_tag(text, begin, i, stack, entities, out, utf16_offset, resolve_user)
            continue
        while i < size and text[i] not in _SPACES and text[i] != ">":
            i += 1
        if i >= size:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag_name = text[begin + 1 : i].lower()
        if tag_name not in _SUPPORTED_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag_name}" at byte offset {_byte_offset(text, begin)}'
            )
        tag = _OpenTag(tag_name, "", utf16_offset)
        i = _parse_attributes(text, begin, i, tag)
        if tag_name == "span" and tag.argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
            )
        stack.append(tag)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return _finish("".join(out), entities)


def _parse_attributes(text: str, begin: int, i: int, tag: _OpenTag) -> int:
    """Read the attributes of ``tag`` from ``text[i]``; return the index after the closing ``>``."""
    size = len(text)
    while True:
        while i < size and text[i] in _SPACES:
            i += 1
        if i >= size:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] == ">":
            return i + 1
        name_begin = i
        while i < size and text[i] not in _SPACES and text[i] not in "=>":
            i += 1
        attribute = text[name_begin:i].lower()
        if not attribute:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag.name}" at byte offset {_byte_offset(text, begin)}'
            )
        while i < size and text[i] in _SPACES:
            i += 1
        if i >= size or text[i] != "=":
            if tag.name == "blockquote" and attribute == "expandable":
                tag.expandable = True
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag.name}" '
                f"at byte offset {_byte_offset(text, begin)}"
            )
        i += 1
        while i < size and text[i] in _SPACES:
            i += 1
        if i >= size:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        value_chars: list[str] = []
        if text[i] not in "'\"":
            # An unquoted name token: letters, digits, periods and hyphens, case-insensitive.
            token_begin = i
            while i < size and (text[i].isalnum() or text[i] in ".-"):
                i += 1
            value = text[token_begin:i].lower()
            if i >= size or (text[i] not in _SPACES and text[i] != ">"):
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                )
        else:
            quote = text[i]
            i += 1
            while i < size and text[i] != quote:
                if text[i] == "&":
                    decoded = _decode_reference(text, i)
                    if decoded is not None:
                        value_chars.append(decoded[0])
                        i = decoded[1]
                        continue
                value_chars.append(text[i])
                i += 1
            if i >= size:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            value = "".join(value_chars)
        if tag.name == "a" and attribute == "href":
            tag.argument = value
        elif tag.name == "code" and attribute == "class" and value.startswith("language-"):
            tag.argument = value[len("language-") :]
        elif tag.name == "span" and attribute == "class" and value.startswith("tg-"):
            tag.argument = value[len("tg-") :]
        elif (tag.name == "tg-emoji" and attribute == "emoji-id") or (
            tag.name == "tg-time" and attribute == "unix"
        ):
            tag.argument = value
        elif tag.name == "tg-time" and attribute == "format":
            tag.extra = value
        elif tag.name == "blockquote" and attribute == "expandable":
            tag.expandable = True


def _close_tag(
    text: str,
    begin: int,
    i: int,
    stack: list[_OpenTag],
    entities: list[dict[str, Any]],
    out: list[str],
    utf16_offset: int,
    resolve_user: Any,
) -> int:
    """Handle ``</name>`` starting at ``text[begin]``; return the index after it."""
    size = len(text)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
    i += 1
    name_begin = i
    while i < size and text[i] not in _SPACES and text[i] != ">":
        i += 1
    end_name = text[name_begin:i].lower()
    while i < size and text[i] in _SPACES:
        i += 1
    if i >= size or text[i] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
    tag = stack[-1]
    if end_name and end_name != tag.name:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {_byte_offset(text, begin)}, expected "</{tag.name}>", '
            f'found "</{end_name}>"'
        )
    length = utf16_offset - tag.utf16_offset
    if length > 0:
        entity = _make_entity(tag, length, stack, entities, out, resolve_user)
        if entity is not None:
            entities.append(entity)
    stack.pop()
    return i + 1


def _make_entity(
    tag: _OpenTag,
    length: int,
    stack: list[_OpenTag],
    entities: list[dict[str, Any]],
    out: list[str],
    resolve_user: Any,
) -> dict[str, Any] | None:
    offset = tag.utf16_offset
    name = tag.name
    if name in _SIMPLE_ENTITY_TYPES:
        return {"type": _SIMPLE_ENTITY_TYPES[name], "offset": offset, "length": length}
    if name == "a":
        url = tag.argument or _utf16_tail("".join(out), offset)
        match = re.fullmatch(r"tg://user\?id=(\d+)", url)
        if match and resolve_user is not None:
            user = resolve_user(int(match.group(1)))
            if user is not None:
                return {"type": "text_mention", "offset": offset, "length": length, "user": user}
        if not url:
            return None
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
            url = "http://" + url
        return {"type": "text_link", "offset": offset, "length": length, "url": url}
    if name == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
            and last.get("language")
        ):
            # <pre><code class="language-x">…</code></pre> becomes one pre entity with a language.
            entities.pop()
            return {"type": "pre", "offset": offset, "length": length, "language": last["language"]}
        return {"type": "pre", "offset": offset, "length": length}
    if name == "code":
        parent = stack[-2] if len(stack) >= 2 else None
        if parent is not None and parent.name == "pre" and parent.utf16_offset == offset and tag.argument:
            return {"type": "code", "offset": offset, "length": length, "language": tag.argument}
        return {"type": "code", "offset": offset, "length": length}
    if name == "blockquote":
        kind = "expandable_blockquote" if tag.expandable else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    if name == "tg-emoji":
        if not tag.argument:
            return None
        return {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": tag.argument}
    if name == "tg-time":
        if not tag.argument.isdigit():
            return None
        entity: dict[str, Any] = {
            "type": "date_time",
            "offset": offset,
            "length": length,
            "unix_time": int(tag.argument),
        }
        if tag.extra:
            entity["date_time_format"] = tag.extra
        return entity
    return None  # pragma: no cover - every supported tag is handled above


def _utf16_tail(text: str, utf16_offset: int) -> str:
    """The part of ``text`` starting at a UTF-16 offset."""
    units = 0
    for index, char in enumerate(text):
        if units >= utf16_offset:
            return text[index:]
        units += 2 if ord(char) > 0xFFFF else 1
    return ""


# --- MarkdownV2 ---------------------------------------------------------------------------------------

_MD_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD_MARKERS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}


def parse_markdown_v2(text: str) -> ParsedText:
    """Parse MarkdownV2 (bold, italic, underline, strikethrough, spoiler, code, pre, links, escapes).

    Block quotations (``>``) and custom emoji are not supported; a ``>`` must be escaped.
    """
    out: list[str] = []
    units = 0
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, int]] = []  # (marker, utf16 offset, byte offset)
    link_stack: list[tuple[int, int]] = []
    size = len(text)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal units
        out.append(chunk)
        units += utf16_len(chunk)

    while i < size:
        char = text[i]
        if char == "\\" and i + 1 < size and 0 < ord(text[i + 1]) <= 126:
            emit(text[i + 1])
            i += 2
            continue
        if char == "`":
            if text.startswith("```", i):
                end = text.find("```", i + 3)
                if end == -1:
                    raise EntityParseError(
                        f"Can't find end of Pre entity at byte offset {_byte_offset(text, i)}"
                    )
                body = text[i + 3 : end]
                language = ""
                if "\n" in body:
                    first, rest = body.split("\n", 1)
                    if first and re.fullmatch(r"[\w+#.-]+", first):
                        language, body = first, rest
                body = re.sub(r"\\([`\\])", r"\1", body)
                start = units
                emit(body)
                entity: dict[str, Any] = {"type": "pre", "offset": start, "length": units - start}
                if language:
                    entity["language"] = language
                if units > start:
                    entities.append(entity)
                i = end + 3
                continue
            end = text.find("`", i + 1)
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of Code entity at byte offset {_byte_offset(text, i)}"
                )
            body = re.sub(r"\\([`\\])", r"\1", text[i + 1 : end])
            start = units
            emit(body)
            if units > start:
                entities.append({"type": "code", "offset": start, "length": units - start})
            i = end + 1
            continue
        marker = "__" if text.startswith("__", i) else "||" if text.startswith("||", i) else char
        if marker in _MD_MARKERS:
            if stack and stack[-1][0] == marker:
                _, start, _ = stack.pop()
                if units > start:
                    entities.append({"type": _MD_MARKERS[marker], "offset": start, "length": units - start})
            else:
                stack.append((marker, units, _byte_offset(text, i)))
            i += len(marker)
            continue
        if char == "[":
            link_stack.append((units, _byte_offset(text, i)))
            i += 1
            continue
        if char == "]" and link_stack:
            start, _ = link_stack.pop()
            if not text.startswith("(", i + 1):
                raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
            end = i + 2
            url_chars: list[str] = []
            while end < size and text[end] != ")":
                if text[end] == "\\" and end + 1 < size:
                    end += 1
                url_chars.append(text[end])
                end += 1
            if end >= size:
                raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
            if units > start:
                entities.append(
                    {"type": "text_link", "offset": start, "length": units - start, "url": "".join(url_chars)}
                )
            i = end + 1
            continue
        if char in _MD_RESERVED:
            raise EntityParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        emit(char)
        i += 1
    if stack:
        marker, _, byte_offset = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MD_MARKERS[marker].capitalize()} entity at byte offset {byte_offset}"
        )
    if link_stack:
        raise EntityParseError(f"Can't find end of TextUrl entity at byte offset {link_stack[-1][1]}")
    return _finish("".join(out), entities)


# --- common -------------------------------------------------------------------------------------------


def _finish(text: str, entities: list[dict[str, Any]]) -> ParsedText:
    """Trim surrounding whitespace like Telegram, clip entities to it, drop code inside pre, sort."""
    stripped_left = text.lstrip(" \t\r\n")
    shift = utf16_len(text) - utf16_len(stripped_left)
    plain = stripped_left.rstrip(" \t\r\n")
    total = utf16_len(plain)
    result: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] - shift + entity["length"], total)
        if end <= start:
            continue
        result.append({**entity, "offset": start, "length": end - start})
    pres = [(e["offset"], e["offset"] + e["length"]) for e in result if e["type"] == "pre"]
    result = [
        e
        for e in result
        if not (
            e["type"] == "code" and any(s <= e["offset"] and e["offset"] + e["length"] <= t for s, t in pres)
        )
    ]
    result.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText(plain, result)


def parse_text(
    text: str,
    parse_mode: str | None,
    *,
    entities: list[dict[str, Any]] | None = None,
    strict_ampersand: bool = True,
    resolve_user: Any = None,
) -> ParsedText:
    """Parse ``text`` according to a Bot API ``parse_mode``.

    Without a parse mode the text is plain and ``entities`` (explicit ``MessageEntity`` dictionaries) are
    kept, clipped to the trimmed text.  An unknown parse mode raises ``LookupError``.
    """
    if not parse_mode:
        return _finish(text, [dict(e) for e in entities or []])
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text, strict_ampersand=strict_ampersand, resolve_user=resolve_user)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    raise LookupError(parse_mode)
