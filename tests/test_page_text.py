"""Text from data and links written as Markdown that Streamlit shows as exactly that text
(timeline.richtext.literal_markdown, the page's _plain): every construct escaped, nothing left to rewrite."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.markdown_reader import read, runs, tokens
from timeline.richtext import literal_markdown

# The rewrites Streamlit 1.67's Markdown makes in parsed text, escapes already undone, copied from its bundle
# (static/js/StreamlitMarkdown.*.js, remark-emoji.*.js): each runs over one text node at a time.
REWRITES = {
    "web address (GFM)": re.compile(r"(https?://|www(?=\.))([-.\w]+)", re.I | re.ASCII),
    "e-mail address (GFM)": re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)", re.ASCII),
    "emoji shortcode": re.compile(r":\+1:|:-1:|:[\w-]+:", re.ASCII),
    "material icon": re.compile(r":material_(\w+):", re.ASCII),
    "Streamlit logo": re.compile(r":streamlit:"),
    "arrow or dash": re.compile(r"(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)"),
}
# Streamlit turns ":material/" into ":material_" in the Markdown source itself, before parsing.
SOURCE_REWRITE = ":material/"
HOST = "evil.example"
CONSTRUCTS = [
    f"[Session expired - log in again](http://{HOST}/)",
    f"![](http://{HOST}/i.png)",
    f"![alt][ref]\n\n[ref]: http://{HOST}/i.png",
    f"<http://{HOST}/> <me@{HOST}>",
    f"id` [pwn](http://{HOST}/) `",
    "``double`` `single`",
    "$$x^2$$ and $y$",
    "$$\nx\n$$",
    "~~struck~~ ~one~",
    ":smile: :+1: :-1: :joy: :not-an-emoji:",
    ":red[red] :blue-background[blue] :color[x]{foreground=red} :small[s] :rainbow-badge[r] :help[tip]",
    "::leaf[x]\n:::container\n:::",
    ":material/home: :material_home: :streamlit:",
    f"<img src=http://{HOST}/x onerror=alert(1)> <b>bold</b> <!-- comment -->",
    "&amp; &lt;b&gt; &#x41; &nbsp;",
    f"http://{HOST}/bare https://x.y/p?q=1 HTTP://X.Y",
    "www.example WWW.A.B wwww.a.b xhttp://a.b",
    "http://intranet https://localhost:8501/",
    f"boss@{HOST} a+b@c.de",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "# heading ##\nSetext\n===\nother\n---",
    "- item\n* star\n+ plus\n1. one\n2) two\n> quote",
    "- [ ] task\n- [x] done",
    "    indented code\n\tand a tab",
    "***\n___\n- - -",
    "[^1]\n\n[^1]: footnote",
    "_under_ __strong__ *em* **b** ***both***",
    "a -> b <- c <-> d -- e >= f <= g ~= h",
    "->:smile: x:a:y 12:30:45",
    "\\*escaped\\* trailing backslash \\",
    "two spaces  \nbreak",
    "",
    "plain words, and 22 Mar 2024 19:58 (UTC+03:00)",
    "Юникод «кавычки» — 日本語 🙂",
    "\ufeffbyte order mark first, \ufeff and later",
]


def _shown(text: str) -> str:
    """What a page shows of text: line breaks as \n, the spaces and tabs that begin a line left out, and
    the spaces and line breaks around the whole text."""
    lines = re.split(r"\r\n|\r|\n", text.strip(" \t\r\n"))
    return "\n".join(line.lstrip(" \t") for line in lines)


def _assert_literal(text: str) -> None:
    markdown = literal_markdown(text)
    tokens(markdown)  # every character Markdown acts on is escaped or alone in its run
    assert read(markdown) == _shown(text)
    assert SOURCE_REWRITE not in markdown
    for run in runs(markdown):
        for what, pattern in REWRITES.items():
            assert not pattern.search(run), f"{what} in the run {run!r} of {markdown!r}"


@pytest.mark.parametrize("text", CONSTRUCTS)
def test_every_construct_is_written_to_be_shown_as_stated(text: str) -> None:
    _assert_literal(text)


@pytest.mark.parametrize(
    ("text", "markdown"),
    [
        ("*b* http://x", r"\*b\* :color[h]ttp\:\/\/x"),
        ("`id`", r"\`id\`"),
        (":smile:", r":color[\:]smile\:"),
        (":material/home:", r"\:material\/home\:"),
        ("a@b.c", r"a:color[\@]b\.c"),
        ("www.x", r":color[w]ww\.x"),
        ("a->b", r"a:color[\-]\>b"),
        ("a\n  b\r\nc\rd", "a\\\nb\\\nc\\\nd"),
        ("\n  x  \n\n", "x"),
        ("Ünïcödé 日本", "Ünïcödé 日本"),
        ("\ufeffx", "&#xFEFF;x"),
    ],
)
def test_the_escapes_are_the_ones_checked_in_the_browser(text: str, markdown: str) -> None:
    """The forms tests/browser/test_text_as_text.py reads back from Chromium: CommonMark's backslash before
    ASCII punctuation, a run of one character as `:color[c]`, a backslash before a line break."""
    assert literal_markdown(text) == markdown


def test_known_failures_of_the_old_escape_are_written_literally() -> None:
    """The backslash escapes alone (the page's first _plain) left a code span to break out of, bare and
    dot-less addresses, shortcodes, colours, LaTeX and strikes to the renderer."""
    for text in (
        "attack x` [pwn](http://evil.example/) `y",
        "http://intranet www.example",
        ":smile: :red[alarm] $$x$$ ~~no~~",
    ):
        markdown = literal_markdown(text)
        assert "`" not in markdown.replace("\\`", "")
        assert "$" not in markdown.replace("\\$", "")
        assert "~" not in markdown.replace("\\~", "")
        _assert_literal(text)


# Text made of the pieces Markdown and its plugins act on, so that constructs (and near misses) are common.
PIECES = [*"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \t\r\nahpstw1", "://", "www.", "http", "smile", "material"]
MARKDOWN_HEAVY = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), MARKDOWN_HEAVY))
@example(":a:b:c:")
@example("-->=<-")
@example("a.b@c.d@e.f")
@example("\\\n")
@example("\ufeff")
def test_any_text_is_written_to_be_shown_as_stated(text: str) -> None:
    """Any text: no Markdown-active character is left unescaped or out of its own run, no run holds a
    sequence a plugin rewrites, and read back (escapes undone) it is the text as a page shows it."""
    _assert_literal(text)


def test_long_text_is_written_in_linear_time() -> None:
    """Hostile text (a link parameter, a cell) costs time in proportion to its length."""
    for unit in (":a", "-", "w", "a@", "http://", "x" * 7 + ":"):
        text = unit * (200_000 // len(unit))
        started = time.perf_counter()
        literal_markdown(text)
        assert time.perf_counter() - started < 2.0, unit
