"""HTML in event text (TimelineJS `Text` cells) as plain text and links, and any text as Markdown that
Streamlit shows literally: for showing as safe text."""

from __future__ import annotations

import html
import re
import string

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Tag names as regular-expression alternatives. Block elements break a line where they start or end.
_BLOCK_NAMES = (
    "address|article|aside|blockquote|caption|dd|div|dl|dt|figcaption|figure|footer|h[1-6]|header|hr|li|"
    "main|nav|ol|p|pre|section|table|tbody|td|tfoot|th|thead|tr|ul"
)
_INLINE_NAMES = (
    "a|abbr|audio|b|bdi|bdo|big|br|cite|code|del|dfn|em|embed|font|i|iframe|img|ins|kbd|mark|object|param|"
    "picture|q|s|samp|small|source|span|strike|strong|sub|sup|time|tt|u|var|video|wbr"
)
_HIDDEN_NAMES = "script|style"  # their contents are code, never text to show
# A name ends where HTML ends it (so "<pre>" is not "<p", and "<3" or "< b" are no tags at all).
_NAME_END = r"(?=[\s/>]|\Z)"
# What follows a tag's name up to its ">": attributes, whose quoted values may hold ">". Possessive, so
# it reads each character once; a tag left open runs to the end, as in a browser. With every pattern
# below always matching once its name is found, hostile text costs linear time, never quadratic.
_ATTRIBUTES = r"""(?:"[^"]*"|'[^']*'|[^'">]|["'])*+(?:>|\Z)"""

_TAG_NAME = re.compile(rf"</?(?:{_BLOCK_NAMES}|{_INLINE_NAMES}|{_HIDDEN_NAMES}){_NAME_END}", re.IGNORECASE)
_TAG = re.compile(_TAG_NAME.pattern + _ATTRIBUTES, re.IGNORECASE)
_HIDDEN = re.compile(
    rf"<(?P<name>{_HIDDEN_NAMES}){_NAME_END}{_ATTRIBUTES}.*?(?:</(?P=name)\s*>|\Z)|<!--.*?(?:-->|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_LIST_ITEM = re.compile(rf"<li{_NAME_END}{_ATTRIBUTES}", re.IGNORECASE)
_LINE_BREAK = re.compile(rf"</?(?:{_BLOCK_NAMES}|br){_NAME_END}{_ATTRIBUTES}", re.IGNORECASE)
_LINK = re.compile(
    rf"<a{_NAME_END}(?P<attributes>{_ATTRIBUTES})(?P<body>.*?)(?:</a\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_HREF = re.compile(r"""(?:^|\s)href\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'>]+))""", re.I)
_WEB_ADDRESS = re.compile(r"https?://\S", re.IGNORECASE)
_ANY_SPACES = re.compile(r"\s+")
_SPACES = re.compile(r"[^\S\n]+")
_LINE_ENDS = re.compile(r"\s*\n\s*")

# Streamlit renders Markdown with react-markdown, GFM, math, directives, emoji and plugins of its own. A
# backslash before ASCII punctuation is CommonMark's escape: it stops every construct the parser reads
# (emphasis, links, images, code, HTML, entities, tables, headings, lists, $math$, ~~strike~~, :red[...]
# directives, <autolinks>, and web addresses as the parser sees them).
_ESCAPED = str.maketrans({char: "\\" + char for char in string.punctuation})  # string.punctuation is ASCII's
# Other rewrites work on the parsed text, escapes already undone, and only within one run of text: GFM's
# web and e-mail addresses (http://x.y, www.x.y, a@b.c), :emoji: shortcodes, Streamlit's :material_x: icons,
# :streamlit: logo and its arrows and dashes (->, <=, --). The first character of each such sequence is put
# in a run of its own, `:color[c]`: Streamlit's colour directive with no colour, a bare <span> holding the
# very character, so the text reads and copies as it was. Each pattern is the sequence alone, whatever
# surrounds it, so that no run between two such spans can hold one.
_REWRITTEN_START = re.compile(
    r"(?=:[\w+-]+:|(?i:https?://|www\.)|(?<=[-.\w+])@|->|<-|--|>=|<=|~=)(.)", re.ASCII | re.DOTALL
)
_LINE_BREAK_CHARS = re.compile(r"\r\n|\r|\n")


def plain(text: str) -> str:
    """Text holding HTML tags as a reader sees it: tags stripped, block ends and <br> as line breaks, list
    items as "• ", entities decoded, script and style contents dropped, runs of spaces collapsed.

    Text without such markup is returned unchanged, so "a < b > c" and "<3" survive:
    plain('<p>Take <a href="https://x.org">Ada</a> &amp; Bob</p>') == "Take Ada & Bob".
    """
    name = _TAG_NAME.search(text)
    if name is None or ">" not in text[name.end() :]:
        return text
    return _as_text(text)


def links(text: str) -> list[tuple[str, str]]:
    """The (link text, address) of each <a href> whose address is http or https, in order, each address
    once; a link without text is named by its address.

    links('<a href="https://x.org/a">Ada</a> <a href="javascript:x()">y</a>') == [("Ada", "https://x.org/a")].
    """
    found: dict[str, str] = {}
    for match in _LINK.finditer(_HIDDEN.sub("", text)):
        href = _HREF.search(match["attributes"])
        if href is None:
            continue
        address = html.unescape(href["dq"] or href["sq"] or href["bare"] or "").strip()
        if _WEB_ADDRESS.match(address) and address not in found:
            found[address] = _as_text(match["body"]) or address
    return [(name, address) for address, name in found.items()]


def plain_texts(values: pd.Series) -> pd.Series:
    """plain() of each text (missing ones stay missing), index kept; only the values holding a "<" (all
    that markup needs) go through Python, so hover text for thousands of events stays cheap."""
    text = values.astype(object)
    arrow = pa.array(text, type=pa.string(), from_pandas=True)
    marked = pc.fill_null(pc.match_substring(arrow, "<"), False).to_numpy(zero_copy_only=False)
    if not marked.any():
        return text
    rows = np.flatnonzero(marked)
    text = text.copy()
    text.iloc[rows] = [plain(value) for value in text.iloc[rows]]
    return text


def _as_text(markup: str) -> str:
    """Markup as the text a reader sees (see plain)."""
    # In markup a line break in the source is a space; the tags say where lines break.
    text = _LIST_ITEM.sub("\n• ", _ANY_SPACES.sub(" ", _HIDDEN.sub("", markup)))
    text = html.unescape(_TAG.sub("", _LINE_BREAK.sub("\n", text)))
    # Tags can reappear: decoded from entities ("&lt;b&gt;") or closed up by a removal ("<<b>b>").
    while _TAG.search(text):
        text = _TAG.sub("", text)
    return _LINE_ENDS.sub("\n", _SPACES.sub(" ", text)).strip()


def literal_markdown(text: str) -> str:
    r"""Markdown that Streamlit (st.markdown, captions, alerts, labels) shows as exactly this text: no link,
    image, formula, emoji, icon, colour or style; a line break is a line break. Spaces and tabs that begin a
    line, and the spaces and line breaks around the whole text, are left out: Markdown would read the first
    as indentation and show a break at the end as a backslash, and a page shows neither.

    literal_markdown("*b* http://x") == r"\*b\* :color[h]ttp\:\/\/x".
    """
    lines = (line.lstrip(" \t") for line in _LINE_BREAK_CHARS.split(text.strip(" \t\r\n")))
    markdown = "\\\n".join(_literal_line(line) for line in lines)
    # The parser drops a byte order mark that begins its input; as a character reference it stays.
    return "&#xFEFF;" + markdown[1:] if markdown.startswith("\ufeff") else markdown


def _literal_line(line: str) -> str:
    # split() gives the text between the characters that start a rewritten sequence, and those characters.
    pieces = _REWRITTEN_START.split(line)
    pieces[1::2] = [f":color[{char.translate(_ESCAPED)}]" for char in pieces[1::2]]
    pieces[::2] = [text.translate(_ESCAPED) for text in pieces[::2]]
    return "".join(pieces)
