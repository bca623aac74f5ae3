"""Recognising what a CSV file is made of: its encoding, its delimiter and its header row."""

from __future__ import annotations

import csv
import io
import mmap
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from timeline.errors import BadInputError

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 256 * 1024
_SAMPLE_RECORDS = 200
_HIGH_BYTES = bytes(range(0x80, 0x100))
_BINARY_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"PK\x03\x04": "a ZIP archive (an .xlsx workbook is one: export it as CSV)",
    b"%PDF": "a PDF document",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"PAR1": "a Parquet file",
    b"SQLite format": "an SQLite database",
    b"\xd0\xcf\x11\xe0": "an old Excel or Word file (export it as CSV)",
}


# A file's content: its bytes, or the file mapped into memory (a large file is not copied). An mmap has
# no bytes methods but find, and `in` on it compares single bytes: whole-content checks use find and
# count_byte, and slices of it are bytes.
Content = bytes | mmap.mmap


@dataclass(frozen=True)
class Text:
    """A file's content as UTF-8, with the encoding it was read in."""

    utf8: Content
    encoding: str


@dataclass(frozen=True)
class Layout:
    """How the records of a text are laid out."""

    delimiter: str
    header: tuple[str, ...] | None
    header_lines: int
    field_count: int
    line_breaks_in_values: bool = False  # seen in the sample: some quoted value spans lines


def decode(data: Content, *, file_name: str) -> Text:
    """The content as UTF-8, from UTF-8 (BOM or not), UTF-16 (BOM, or recognisable) or Windows-1252."""
    blank = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"
    head = data[:65536]
    if not head.strip(blank) and not bytes(data).strip(blank):
        raise BadInputError("the file is empty", file=file_name)
    for signature, what in _BINARY_SIGNATURES.items():
        if head.startswith(signature):
            raise BadInputError(f"this is {what}, not a CSV text file", file=file_name)
    if head.startswith(b"\xef\xbb\xbf"):
        return Text(_utf8(data[3:], file_name), "utf-8-sig")
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return Text(_transcode(data[2:], codec, file_name), "utf-16")
    utf16 = _utf16_without_bom(data)
    if utf16:
        return Text(_transcode(data, utf16, file_name), utf16)
    position = data.find(b"\x00")
    if position != -1:
        line = data[:position].count(b"\n") + 1
        raise BadInputError("the file holds NUL bytes, so it is not a text file", file=file_name, row=line)
    if _is_utf8(data):
        return Text(data, "utf-8")
    try:
        str(data, "utf-8")
    except UnicodeDecodeError as exc:
        if _mostly_utf8(data, exc.start):
            # Read as Windows-1252, every letter of the UTF-8 text would turn into mojibake.
            line = data[: exc.start].count(b"\n") + 1
            raise BadInputError(
                f"the file is UTF-8 text but byte {exc.start} is not valid UTF-8",
                file=file_name,
                row=line,
                hint="save the file again as UTF-8, or in one encoding throughout",
            ) from exc
        return Text(_transcode(data, _single_byte_codec(data), file_name), "cp1252")
    return Text(data, "utf-8")


def _mostly_utf8(data: bytes, start: int) -> bool:
    """Whether most non-ASCII bytes near the first bad one are UTF-8 (Windows-1252 text almost never is)."""
    sample = data[max(0, start - _SAMPLE_BYTES) : start + _SAMPLE_BYTES]
    ascii_bytes = len(sample.translate(None, _HIGH_BYTES))
    valid = sample.decode("utf-8", errors="ignore")
    characters = len(valid) - ascii_bytes
    valid_bytes = len(valid.encode("utf-8")) - ascii_bytes
    return characters >= 2 and valid_bytes >= (len(sample) - ascii_bytes) / 2


def count_byte(data: Content, byte: bytes) -> int:
    """How many times the single byte occurs in data (bytes.count, for an mmap too)."""
    code = ord(byte)
    return sum(int(np.count_nonzero(piece == code)) for piece in _pieces(data))


def count_line_ends(data: Content) -> int:
    """Line ends as a CSV reader sees them: a \\n, a \\r\\n or a lone \\r each."""
    line_feeds = count_byte(data, b"\n")
    if data.find(b"\r") == -1:
        return line_feeds
    returns = count_byte(data, b"\r")
    view, pairs = np.frombuffer(data, dtype=np.uint8), 0
    for start in range(0, len(view) - 1, _PIECE_BYTES):
        stop = min(start + _PIECE_BYTES, len(view) - 1)
        pairs += int(np.count_nonzero((view[start:stop] == 13) & (view[start + 1 : stop + 1] == 10)))
    return line_feeds + returns - pairs


_PIECE_BYTES = 16 * 1024 * 1024


def _pieces(data: Content) -> Iterator[np.ndarray]:
    """data as byte arrays of at most _PIECE_BYTES: comparing a whole file at once would allocate as much."""
    view = np.frombuffer(data, dtype=np.uint8)
    for start in range(0, len(view), _PIECE_BYTES):
        yield view[start : start + _PIECE_BYTES]


def _is_utf8(data: Content) -> bool:
    """Whether data is valid UTF-8, checked by Arrow in place (Python would build a str of the whole file)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _utf8(data: bytes, file_name: str) -> bytes:
    if _is_utf8(data):
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BadInputError(
            f"the file starts with a UTF-8 mark but byte {exc.start + 3} is not valid UTF-8",
            file=file_name,
            row=line,
        ) from exc
    return data


def _transcode(data: Content, codec: str, file_name: str) -> bytes:
    try:
        text = str(data, codec)
    except UnicodeDecodeError as exc:
        raise BadInputError(f"the file is not valid {codec} text (byte {exc.start})", file=file_name) from exc
    if "\x00" in text:
        raise BadInputError("the file holds NUL characters, so it is not a text file", file=file_name)
    return text.encode("utf-8")


def _utf16_without_bom(data: Content) -> str | None:
    """UTF-16 text without a BOM shows NUL in every other byte of mostly-ASCII content."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.7 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.7 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _single_byte_codec(data: Content) -> str:
    """Windows-1252 unless it has bytes that code page leaves undefined, then Latin-1."""
    undefined = [0x81, 0x8D, 0x8F, 0x90, 0x9D]
    present = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    return "latin-1" if present[undefined].any() else "cp1252"


def _sample_records(utf8: bytes, delimiter: str) -> list[list[str]]:
    sample = utf8[:_SAMPLE_BYTES].decode("utf-8", errors="ignore")
    truncated = len(utf8) > _SAMPLE_BYTES
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    records = []
    try:
        for record in reader:
            if record:
                records.append(record)
            if len(records) > _SAMPLE_RECORDS:
                break
    except csv.Error:
        pass
    if truncated and len(records) > 1:
        records.pop()  # the last record may be cut in the middle
    return records


def _score(records: list[list[str]]) -> tuple[float, int]:
    counts = Counter(len(r) for r in records)
    width, frequency = counts.most_common(1)[0]
    return (frequency / len(records) if width > 1 else 0.0, width)


def detect_layout(text: Text, *, file_name: str) -> Layout:
    """The delimiter that splits the sample into the most consistent number of fields, and the header."""
    best: tuple[tuple[float, int], str, list[list[str]]] | None = None
    for delimiter in DELIMITERS:
        records = _sample_records(text.utf8, delimiter)
        if not records:
            continue
        score = _score(records)
        if best is None or score > best[0]:
            best = (score, delimiter, records)
    if best is None:
        raise BadInputError("the file has no rows", file=file_name)
    (consistency, width), delimiter, records = best
    if consistency == 0.0:
        # One column only: there is no delimiter to find; the header alone names it.
        delimiter, width = ",", 1
    first, header_lines = _first_record(text.utf8, delimiter)
    first = first or records[0]
    line_breaks = any("\n" in value or "\r" in value for record in records for value in record)
    return Layout(delimiter, tuple(first), header_lines, max(width, len(first)), line_breaks)


def _first_record(utf8: Content, delimiter: str) -> tuple[list[str], int]:
    """The first record whole, however long (the sample may cut a wide header), and how many physical lines
    it spans (a quoted header may hold a newline). Lines are read as the CSV reader asks for them: the
    rest of the file is never decoded."""
    reader = csv.reader(_lines(utf8), delimiter=delimiter)
    try:
        return next(reader), max(reader.line_num, 1)
    except (StopIteration, csv.Error):
        return [], 1


def _lines(utf8: Content) -> Iterator[str]:
    """The text's lines, each with its line end (\\n, \\r\\n or a lone \\r, as the CSV reader reads them),
    decoded one at a time."""
    start, size = 0, len(utf8)
    while start < size:
        end = utf8.find(b"\n", start)
        end = size if end == -1 else end + 1
        line = bytes(utf8[start:end]).decode("utf-8", errors="replace")
        yield from _LONE_RETURN.split(line) if "\r" in line[:-2] else (line,)
        start = end


_LONE_RETURN = re.compile(r"(?<=\r)(?!\n)(?=.)", re.DOTALL)  # just after a \r that ends a line by itself


def unique_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """Header names made unique and non-empty: a repeated `date` becomes `date_2`, a blank one `column_3`."""
    seen: Counter[str] = Counter()
    result: list[str] = []
    used: set[str] = set()
    for position, raw in enumerate(names, start=1):
        name = raw.strip().lstrip("\ufeff") or f"column_{position}"
        seen[name] += 1
        candidate = name if seen[name] == 1 else f"{name}_{seen[name]}"
        while candidate in used:
            seen[name] += 1
            candidate = f"{name}_{seen[name]}"
        result.append(candidate)
        used.add(candidate)
    return tuple(result)
