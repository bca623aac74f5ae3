"""HTML from spreadsheets (TimelineJS `Text` cells) shown as plain text, with its web links kept apart."""

from __future__ import annotations

import json
import re
import time

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.canonical import canonical_events
from timeline import figure_parts, figures, richtext
from timeline import frame as frames
from timeline import schema as s

# A Text cell of the TimelineJS template, as Google Sheets exports it.
TIMELINEJS_TEXT = (
    '<p>Take <a href="https://en.wikipedia.org/wiki/Ada_Lovelace">Ada Lovelace</a>: the first '
    "&ldquo;programmer&rdquo;&nbsp;&amp; a mathematician.</p>"
    '<span class="tl-note">Source: <a href="https://en.wikipedia.org/wiki/Ada_Lovelace">Wikipedia</a></span>'
)
# The vocabulary the brief names, spelled out here rather than taken from the module under test.
VOCABULARY = (
    "p|a|span|div|br|b|i|em|strong|blockquote|cite|ul|ol|li|h1|h2|h3|h4|h5|h6|img|iframe|sup|sub|u|small|"
    "code|pre|hr|table|thead|tbody|tr|td|th|script|style"
)
A_TAG = re.compile(rf"</?(?:{VOCABULARY})(?=[\s/>])[^>]*>", re.IGNORECASE)


def test_timelinejs_text_reads_as_plain_text() -> None:
    """The template's cell loses its tags, decodes its entities and breaks a line after the paragraph."""
    assert richtext.plain(TIMELINEJS_TEXT) == (
        "Take Ada Lovelace: the first \u201cprogrammer\u201d & a mathematician.\nSource: Wikipedia"
    )


def test_timelinejs_text_links() -> None:
    """Its link comes out once, with its text, though the cell links the same page twice."""
    assert richtext.links(TIMELINEJS_TEXT) == [("Ada Lovelace", "https://en.wikipedia.org/wiki/Ada_Lovelace")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Nested tags, any case, attributes with quoted ">".
        ('<DIV class="x"><P>One <B><I>bold</I> italic</B></P></DIV>', "One bold italic"),
        ("<p title='a > b'>Kept</p>", "Kept"),
        # Lists: one item a line, each with a bullet.
        ("<ul><li>first</li><li>second<li>third</ul>", "• first\n• second\n• third"),
        # <br> and block ends break lines; the source's own line breaks and runs of spaces are spaces.
        ("one<br>two<br/>three<BR />four", "one\ntwo\nthree\nfour"),
        (
            "<h2>Title</h2>\n\n<p>First   line\nstill first</p><p>Second</p>",
            "Title\nFirst line still first\nSecond",
        ),
        # Entities, named and numeric, decoded once.
        ("<p>&lt;3 &amp;amp; &#8212; &#x2014; caf&eacute;</p>", "<3 &amp; \u2014 \u2014 caf\u00e9"),
        # Script and style contents are code: dropped, never shown; so are comments.
        ("<p>Before</p><script>alert('x')</script><style>p { color: red }</style>After", "Before\nAfter"),
        ("<b>Safe</b><SCRIPT type='text/javascript'>steal()</Script >", "Safe"),
        ("<i>cut</i><script>never closed", "cut"),
        ("<p>a<!-- hidden --> b</p>", "a b"),
        # Tags that only appear once others are removed, or once entities are decoded, go too.
        ("<<b>b>bold", "bold"),
        ("<i>&lt;b&gt;x&lt;/b&gt;</i>", "x"),
        # Within markup, a "<" that starts no tag is text.
        ("<b>I <3 it</b>, a < b", "I <3 it, a < b"),
        ("<em></em>", ""),
        # A tag left open at the end runs to the end, as in a browser.
        ("<i>cut</i> here <b class='x", "cut here"),
    ],
)
def test_markup_as_plain_text(text: str, expected: str) -> None:
    """Tags go, block ends and <br> break lines, entities decode, code and comments vanish."""
    assert richtext.plain(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a < b > c",
        "<3",
        "I <3 NY",
        "x<y and y>z",
        "<custom>not HTML</custom>",
        "< p >spaced</ p >",
        "AT&amp;T",
        "Fish & chips",
        "",
        "  spaces kept  ",
        "line\nbreak",
    ],
)
def test_text_without_markup_is_unchanged(text: str) -> None:
    """Text holding no tag of HTML's elements is returned exactly as stored."""
    assert richtext.plain(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('<a href="javascript:alert(1)">bad</a> <a href="https://ok.org">ok</a>', [("ok", "https://ok.org")]),
        ("<a href=' JavaScript:alert(1)'>bad</a><a href=data:text/html,x>data</a>", []),
        ('<a href="mailto:a@b.org">mail</a><a href="/relative">rel</a><a name="x">anchor</a>', []),
        (
            '<a class="x" HREF=http://plain.org/a?b=1&amp;c=2 target=_blank>bare</a>',
            [("bare", "http://plain.org/a?b=1&c=2")],
        ),
        ('<a href="https://x.org"><b>bold</b> &amp; more</a>', [("bold & more", "https://x.org")]),
        ('<a href="https://x.org"></a>', [("https://x.org", "https://x.org")]),
        (
            '<a href="https://b.org">B</a><a href="https://a.org">A</a><a href="https://b.org">B again</a>',
            [("B", "https://b.org"), ("A", "https://a.org")],
        ),
        ('<script><a href="https://evil.org">x</a></script>', []),
        ("no links here", []),
    ],
)
def test_links(text: str, expected: list[tuple[str, str]]) -> None:
    """Only http(s) links, in order, each address once, their text as plain text."""
    assert richtext.links(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<i>x</i>" + "<b " * 100_000,
        "<i>x</i>" + '<b "' * 100_000,
        "<i>x</i>" + "<a href=https://x.org " * 30_000,
        "<i>x</i>" + "<script " * 50_000,
        "<p>" + "<!--" * 100_000,
        "<i>" + "<a>" * 100_000,
    ],
)
def test_hostile_markup_takes_linear_time(text: str) -> None:
    """Many tags left open cost one pass, not one pass each: a page never hangs on a crafted cell."""
    started = time.perf_counter()
    richtext.plain(text)
    richtext.links(text)
    assert time.perf_counter() - started < 5  # linear: well under a second; quadratic: hours


def test_plain_texts_keep_index_and_missing_values() -> None:
    """Each value as plain() gives it; missing stays missing; the index is kept."""
    values = pd.Series(["<b>x</b>", None, "a < b", "AT&amp;T", TIMELINEJS_TEXT], index=[7, 3, 9, 1, 4])
    result = richtext.plain_texts(values)
    assert list(result.index) == [7, 3, 9, 1, 4]
    assert result.isna().tolist() == [False, True, False, False, False]
    assert result.dropna().tolist() == [richtext.plain(v) for v in values.dropna()]


def test_plain_texts_of_arrow_and_categorical_text() -> None:
    """Text stored as Arrow strings or categories is read the same way."""
    values = ["<i>a</i>", "b", None]
    for dtype in ("string[pyarrow]", "category"):
        assert richtext.plain_texts(pd.Series(values, dtype=dtype)).tolist()[:2] == ["a", "b"]


_PIECES = st.sampled_from(
    ["<", ">", "/", " ", "=", '"', "'", "&", "&lt;", "&gt;", "&amp;", "<!--", "-->", "\n", "x", "3"]
    + [f"<{name}" for name in VOCABULARY.split("|")]
    + [f"</{name}>" for name in VOCABULARY.split("|")]
    + [f"<{name}>" for name in VOCABULARY.split("|")]
    + ['<a href="https://x.org">', '<a href="javascript:x()">', "</a>"]
)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(max_size=60), st.lists(_PIECES, max_size=30).map("".join)))
def test_plain_output_never_holds_a_tag(text: str) -> None:
    """Whatever the input, plain() leaves no tag of the vocabulary, and reading it again changes nothing."""
    result = richtext.plain(text)
    assert A_TAG.search(result) is None
    assert richtext.plain(result) == result
    for name, address in richtext.links(text):
        assert address.lower().startswith(("http://", "https://"))
        assert A_TAG.search(name) is None


def test_hover_headlines_show_titles_as_stated_and_descriptions_as_plain_text() -> None:
    """A title is shown as written; an untitled event's TimelineJS description stands in as its text, not
    as tags, in the timeline's hover."""
    frame = frames.prepare(
        canonical_events(
            {
                s.TIMESTAMP: "2024-03-22T17:00Z",
                s.DESCRIPTION: "<p><b>Ada</b> &amp; <i>Babbage</i></p>",
                s.FATALITIES: 1,
            },
            {s.TIMESTAMP: "2024-03-22T18:00Z", s.DESCRIPTION: "<p></p>", s.FATALITIES: 2},
            {s.TIMESTAMP: "2024-03-22T19:00Z", s.TITLE: "a < b", s.FATALITIES: 3},
            event_type="statement",
            time_precision="minute",
            utc_offset_minutes=0,
        )
    )
    assert figure_parts.headlines(frame).tolist() == ["Ada & Babbage", "(no title)", "a < b"]
    fig = figures.timeline_figure(frame=frame)
    sent = json.dumps(fig.to_plotly_json(), default=str)
    assert "Ada &amp; Babbage" in sent
    assert "a &lt; b" in sent
    assert "&lt;b&gt;" not in sent
    assert "&lt;p&gt;" not in sent
