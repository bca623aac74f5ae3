"""Markdown written by timeline.richtext.literal_markdown, read back as the browser shows it (for tests that
look at the page through AppTest, which gives the Markdown source, not the rendered text)."""

from __future__ import annotations

import re

ASCII_PUNCTUATION = r"!-/:-@\[-`{-~"
# What literal_markdown may write, and nothing else: an escaped punctuation character, a one-character run
# of its own (`:color[c]`), a hard line break (a backslash ending a line), or a character Markdown leaves be.
TOKEN = re.compile(
    rf"\\(?P<escaped>[{ASCII_PUNCTUATION}])"
    rf"|:color\[(?:\\(?P<run_escaped>[{ASCII_PUNCTUATION}])|(?P<run>[^{ASCII_PUNCTUATION}\s\\]))\]"
    rf"|(?P<line_break>\\\n)"
    r"|\A(?P<byte_order_mark>&#xFEFF;)"
    rf"|(?P<plain>[^{ASCII_PUNCTUATION}\n])"
)
# Lenient: an escape or a run anywhere, in Markdown that may hold other Markdown too.
READABLE = re.compile(r":color\[\\?(.)\]|\\(.)|\A&#xFEFF;", re.DOTALL)


def tokens(markdown: str) -> list[re.Match[str]]:
    """The tokens of literal Markdown, in order; AssertionError naming the first character that is none."""
    found, at = [], 0
    while at < len(markdown):
        token = TOKEN.match(markdown, at)
        assert token is not None, f"Markdown acts on {markdown[at]!r} at {at}: {markdown!r}"
        found.append(token)
        at = token.end()
    return found


def runs(markdown: str) -> list[str]:
    """The runs of text the Markdown parser hands to the plugins that rewrite text (emoji, addresses,
    arrows): a `:color[c]` run stands alone, a line break ends a run."""
    shown: list[str] = [""]
    for token in tokens(markdown):
        if token["line_break"]:
            shown.append("")
        elif token["byte_order_mark"]:
            shown[-1] += "\ufeff"
        elif token["run"] or token["run_escaped"]:
            shown += [token["run"] or token["run_escaped"], ""]
        else:
            shown[-1] += token["escaped"] or token["plain"]
    return [run for run in shown if run]


def read(markdown: str) -> str:
    """The text a reader sees for Markdown holding literal Markdown: escapes undone, runs unwrapped, hard
    breaks as line breaks; any other Markdown (the page's own **bold**) is left as it is."""
    return READABLE.sub(lambda found: found[1] or found[2] or "\ufeff", markdown)
