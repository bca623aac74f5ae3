"""Writes the small hostile files of this directory (`python tests/data/hostile/make_corpus.py`).

The files are committed; this script says exactly what bytes each holds and recreates them. The big
hostile inputs (2,000 columns, a 5 MB field, a million rows over the size limit) are made by
tests/test_hostile.py at test time instead. README.md lists every file and the expected answer.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import struct
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "date,actor,event_type,title,description,source_name,source_url\n"


def _png() -> bytes:
    """A valid 2x2 PNG image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    pixels = zlib.compress(b"\x00\xff\x00\x00\xff\x00\x00" * 2)
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _zip() -> bytes:
    """A ZIP archive holding a CSV (what an .xlsx or a zipped export looks like from outside)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        entry = zipfile.ZipInfo(
            "events.csv", date_time=(2024, 3, 22, 17, 0, 0)
        )  # fixed: the same bytes each run
        archive.writestr(
            entry, HEADER + "2024-03-22,A,attack,t,d,s,https://example.org\n", zipfile.ZIP_DEFLATED
        )
    return buffer.getvalue()


def _text_rows(rows: list[list[str]], header: str = HEADER) -> str:
    """The header and the rows as CSV, fields quoted only where they need it."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return header + buffer.getvalue()


def _every_text_column(value: str, n: int = 3) -> str:
    """Rows whose every text column (actor, type, title, description, source name) holds value."""
    return HEADER + "".join(
        f"2024-03-22T17:{m:02d}:00Z,{value},{value},{value},{value},{value},\n" for m in range(n)
    )


def corpus() -> dict[str, bytes]:
    """File name -> exact bytes."""
    rng = random.Random(6)
    files: dict[str, bytes] = {}
    files["empty.csv"] = b""
    files["whitespace_only.csv"] = b"  \r\n\n\t\n   \n"
    files["bom_only.csv"] = b"\xef\xbb\xbf"
    files["header_only.csv"] = HEADER.encode()
    files["header_only_no_newline.csv"] = HEADER.strip().encode()
    files["header_and_blank_lines.csv"] = (HEADER + "\n\n,,,,,,\n\n").encode()
    files["random_binary.csv"] = bytes(rng.randrange(256) for _ in range(4096))
    files["png_image.csv"] = _png()
    files["zip_archive.csv"] = _zip()
    files["pdf_document.csv"] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
    files["gzip_archive.csv"] = gzip.compress(HEADER.encode(), mtime=0)
    files["nul_bytes.csv"] = (HEADER + "2024-03-22,A,attack,t\x00itle,d,s,\n").encode()
    good = _text_rows(
        [
            [
                "2024-03-22T17:00:00+03:00",
                "Gunmen",
                "attack",
                "Attack begins",
                "Crocus City Hall",
                "TASS",
                "",
            ],
            ["2024-03-22T19:15:00Z", "Islamic State", "claim", "Claim via Amaq", "", "Amaq", ""],
            ["2024-03-23", "Vladimir Putin", "statement", "Address", "", "Kremlin", "https://kremlin.ru"],
        ]
    )
    files["utf16le_no_bom.csv"] = good.encode("utf-16-le")
    files["utf16be_no_bom.csv"] = good.encode("utf-16-be")
    cyrillic = _text_rows(
        [
            ["2024-03-22", "Москва", "attack", "Нападение", "Крокус Сити Холл", "ТАСС", ""],
            ["2024-03-23", "Кремль", "statement", "Обращение", "Путин", "РИА", ""],
            ["2024-03-24", "МЧС", "casualty_update", "Погибшие", "Жертвы", "МЧС", ""],
        ]
    ).encode()
    middle = cyrillic.index("Кремль".encode())
    files["invalid_utf8_middle.csv"] = cyrillic[:middle] + b"\xff\xfe" + cyrillic[middle:]
    files["bom_then_invalid_utf8.csv"] = b"\xef\xbb\xbf" + cyrillic[:middle] + b"\xc3\x28" + cyrillic[middle:]
    files["one_column_dates.csv"] = b"date\n2024-03-22\n2024-03-23\n2024-03-24\n"
    files["one_column_text.csv"] = b"title\nno dates here\nnor here\n"
    files["unbalanced_quotes.csv"] = (
        HEADER + '2024-03-22,A,attack,"opened and never closed,d,s,\n2024-03-23,B,claim,t,d,s,\n'
    ).encode()
    files["stray_quotes.csv"] = (
        HEADER + '2024-03-22,A "the" B,attack,5" gun,d,s,\n2024-03-23,B,claim,"a ""quoted"" word",d,s,\n'
    ).encode()
    files["duplicate_headers.csv"] = (
        b"date,date,actor,actor,title,title,,\n"
        b"2024-03-22,2024-03-23,A,B,first,second,x,y\n"
        b"2024-03-24,2024-03-25,C,D,third,fourth,z,w\n"
    )
    files["every_date_invalid.csv"] = _text_rows(
        [
            ["yesterday", "A", "attack", "t", "", "", ""],
            ["2024-02-30", "B", "claim", "t", "", "", ""],
            ["2024-13-01", "C", "claim", "t", "", "", ""],
            ["32/01/2024", "D", "claim", "t", "", "", ""],
            ["2024-03-22T25:61", "E", "claim", "t", "", "", ""],
        ]
    ).encode()
    files["years_0_and_9999.csv"] = _text_rows(
        [
            ["0000-01-01", "Year zero", "other", "t", "", "", ""],
            ["0001-01-01T00:00:00Z", "Year one", "other", "t", "", "", ""],
            ["9999-12-31T23:59:59Z", "Year 9999", "other", "t", "", "", ""],
            ["9999", "Year 9999 only", "other", "t", "", "", ""],
            ["10000-01-01", "Year 10000", "other", "t", "", "", ""],
            ["-0044-03-15", "Caesar", "other", "t", "", "", ""],
        ]
    ).encode()
    files["mixed_offsets.csv"] = _text_rows(
        [
            ["2024-03-22T17:00:00+03:00", "Moscow", "attack", "t", "", "", ""],
            ["2024-03-22T14:00:00Z", "UTC", "statement", "t", "", "", ""],
            ["2024-03-22T09:00:00-05:00", "New York", "statement", "t", "", "", ""],
            ["2024-03-22T19:45:00+05:45", "Kathmandu", "statement", "t", "", "", ""],
            ["2024-03-23T04:00:00+14:00", "Kiribati", "statement", "t", "", "", ""],
            ["2024-03-22T02:00:00-12:00", "Baker Island", "statement", "t", "", "", ""],
            ["2024-03-22 17:00", "Naive", "statement", "t", "", "", ""],
            ["2024-03-22T17:00:00+2500", "Bad offset", "statement", "t", "", "", ""],
        ]
    ).encode()
    files["rtl_and_emoji.csv"] = _text_rows(
        [
            ["2024-03-22", "الدولة الإسلامية", "claim", "بيان 📢", "نص عربي", "أعماق", ""],
            ["2024-03-23", "ישראל", "condolence", "תנחומים 🕯️", "טקסט", "ynet", ""],
            [
                "2024-03-24",
                "\u202eevil\u202c actor",
                "statement",
                "👨‍👩‍👧‍👦 family",
                "e\u0301\u0301\u0301",
                "x",
                "",
            ],
            ["2024-03-25", "Ünïcödé 🇷🇺", "mourning", "\u200b\u200d\ufeff", "𝕳𝖊𝖑𝖑𝖔", "𝓈", ""],
        ]
    ).encode()
    formulas = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", '=HYPERLINK("http://x","y")']
    files["formula_cells.csv"] = _text_rows(
        [[f"2024-03-22T17:0{n}:00Z", *[f] * 5, ""] for n, f in enumerate(formulas)]
    ).encode()
    files["html_script.csv"] = _every_text_column("<script>alert(1)</script>").encode() + (
        b"2024-03-23,<img src=x onerror=alert(1)>,<b>bold</b>,<a href='javascript:alert(1)'>x</a>,"
        b"<iframe src=//evil>,<svg onload=alert(1)>,\n"
    )
    files["hostile_urls.csv"] = _text_rows(
        [
            ["2024-03-22", "A", "claim", "t", "", "js", "javascript:alert(1)"],
            ["2024-03-23", "B", "claim", "t", "", "JS upper", "JAVASCRIPT:alert(document.cookie)"],
            [
                "2024-03-24",
                "C",
                "claim",
                "t",
                "",
                "data",
                "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            ],
            ["2024-03-25", "D", "claim", "t", "", "vb", "vbscript:msgbox(1)"],
            ["2024-03-26", "E", "claim", "t", "", "file", "file:///etc/passwd"],
            ["2024-03-27", "F", "claim", "t", "", "spaced", "  javascript:alert(1)"],
            ["2024-03-28", "G", "claim", "t", "", "ok", "https://example.org/a?b=<script>"],
        ]
    ).encode()
    files["control_characters.csv"] = (
        HEADER
        + "2024-03-22,A\x01B,attack,t\x07\x08,d\x0b\x0c,s\x1b[31m,\n"
        + "2024-03-23,C\x7f,claim,line\u2028sep,para\u2029sep,s,\n"
    ).encode()
    files["carriage_returns_only.csv"] = HEADER.replace("\n", "\r").encode() + (
        b"2024-03-22,A,attack,t,d,s,\r2024-03-23,B,claim,t,d,s,\r"
    )
    files["numbers_overflow.csv"] = (
        b"date,actor,fatalities,injured,latitude,longitude\n"
        b"2024-03-22,A,99999999999999999999,-5,1e309,-inf\n"
        b"2024-03-23,B,NaN,2147483648,NaN,181\n"
        b"2024-03-24,C,1e3,0x10,-90.0000001,180\n"
    )
    files["epoch_extremes.csv"] = b"timestamp,actor\n1711126800,A\n99999999999999,B\n-99999999999,C\n0,D\n"
    files["only_delimiters.csv"] = b",,,\n,,,\n;;;\n"
    files["hostile_header_names.csv"] = (
        '"a""b",\\,"x\ny",<script>,=cmd,event_id,extra,date,  ,\ufeffactor\n'
        "1,2,3,4,5,6,7,2024-03-22,8,A\n"
        "1,2,3,4,5,6,7,2024-03-23,8,B\n"
    ).encode()
    files["hostile_event_ids.csv"] = (
        b"id,date,actor\n../../etc/passwd,2024-03-22,A\n../../etc/passwd,2024-03-23,B\n,2024-03-24,C\n"
        b"<script>,2024-03-25,D\n"
    )
    files["cp1252_undefined_bytes.csv"] = b"date,actor,title\n2024-03-22,Caf\xe9,\x81\x8d\x8f\x90\x9d\n"
    files["ragged_extremes.csv"] = (
        HEADER
        + "2024-03-22\n2024-03-23,A,attack,t,d,s,,x,y,z,w\n2024-03-24,B\n"
        + "2024-03-25"
        + "," * 40
        + "\n"
    ).encode()
    files["very_long_header_name.csv"] = ("date,actor," + "h" * 20_000 + "\n2024-03-22,A,x\n").encode()
    files["sql_and_shell_text.csv"] = _text_rows(
        [
            ["2024-03-22", "'; DROP TABLE events; --", "attack", "$(rm -rf /)", "`reboot`", "%s%n%x", ""],
            [
                "2024-03-23",
                "{{7*7}}",
                "claim",
                "${jndi:ldap://x}",
                "../../etc/passwd",
                "\\\\server\\share",
                "",
            ],
        ]
    ).encode()
    files["terminal_escapes.csv"] = (
        b"date,actor,\x1b]0;owned\x07title,\x1b[2J\x1b[31mnote\n"
        b"2024-03-22,\x1b[31mred\x1b[0m,t,\x1b[2Jclear\n"
        b"not a date \x1b[5mblink,B,t,n\n"
    )
    files["unique_hostile_ids.csv"] = (
        b"id,date,actor,title\n"
        b"../../etc/passwd,2024-03-22,A,t\n"
        b"<script>alert(1)</script>,2024-03-23,B,t\n"
        b"javascript:alert(1),2024-03-24,C,t\n"
        b"=1+2,2024-03-25,D,t\n"
        b"\xe2\x80\xaeevil,2024-03-26,E,t\n"
    )
    files["all_duplicates.csv"] = b"date,actor,title\n" + b"2024-03-22,A,same\n" * 5
    files["odd_timestamps.csv"] = _text_rows(
        [
            ["2024-03-22T17:00:00.123456789Z", "nanoseconds", "other", "t", "", "", ""],
            ["2024-03-22T17:00:00+03:00[Europe/Moscow]", "bracketed zone", "other", "t", "", "", ""],
            ["2024-03-22 17:00 MSK", "zone abbreviation", "other", "t", "", "", ""],
            ["2024-W12-5", "week date", "other", "t", "", "", ""],
            ["1711126800000", "epoch milliseconds", "other", "t", "", "", ""],
            ["  2024-03-22  ", "padded", "other", "t", "", "", ""],
        ]
    ).encode()
    return files


def main() -> None:
    for name, data in corpus().items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
