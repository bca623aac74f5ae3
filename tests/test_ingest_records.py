"""Reading records: Arrow reads blocks cut at line ends when no record spans lines, and follows quotes
when one does, even where the first line break in a value comes long after the sample sniff reads."""

from __future__ import annotations

import csv
import io
import random
import sys

import pytest

from timeline import cli, sniff
from timeline.errors import BadInputError
from timeline.ingest import ImportOptions, read_events


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0),
        (b"a", 0),
        (b"a\n", 1),
        (b"a\r\nb\r\n", 2),
        (b"a\rb\rc", 2),
        (b"a\r\n\r\n\rb\n", 4),
        (b"\r", 1),
        (b"x" * 20_000_000 + b"\r\n" + b"y\r", 2),  # a \r\n across the slices the count is taken in
    ],
)
def test_line_ends_count_as_a_csv_reader_sees_them(data: bytes, expected: int) -> None:
    assert sniff.count_line_ends(data) == expected


def _csv(rows: list[list[str]], line_end: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=line_end, quoting=csv.QUOTE_ALL).writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("break_in_value", ["\n", "\r\n", "\r"])
def test_line_breaks_in_values_far_past_the_sample_are_read_whole(line_end: str, break_in_value: str) -> None:
    """A 3 MB file (three of Arrow's blocks) whose values break lines only after its first megabyte."""
    generator = random.Random(7)
    rows = [["id", "date", "who", "note"]]
    for i in range(40_000):
        note = "quiet " * generator.randint(0, 12)
        if i > 12_000 and generator.random() < 0.2:
            note = f"first line{break_in_value}second, with a comma{break_in_value}third"
        rows.append([f"e{i}", f"2024-03-{1 + i % 28:02d}", f"actor {i % 50}", note])
    data = _csv(rows, line_end)
    assert len(data) > 2_500_000

    result = read_events(data, ImportOptions(file_name="breaks.csv"))

    assert (result.accepted, result.rejected, result.duplicates) == (40_000, 0, 0)
    assert result.events["event_id"].to_pylist() == [row[0] for row in rows[1:]]
    assert result.mapping["description"] == "note"
    assert result.events["description"].to_pylist() == [row[3].strip() or None for row in rows[1:]]


def test_a_file_without_line_breaks_in_values_reads_the_same_either_way() -> None:
    rows = [["date", "who", "what"]] + [
        [f"2024-03-{1 + i % 28:02d}", f'say "{i}"', "a, b"] for i in range(5000)
    ]
    data = _csv(rows, "\n")
    result = read_events(data, ImportOptions(file_name="plain.csv"))
    assert result.accepted == 5000
    assert result.events["actor"].to_pylist()[:2] == ['say "0"', 'say "1"']


def test_a_value_whose_line_break_ends_arrows_first_block_is_read_whole() -> None:
    """The last line end in the first megabyte lies inside a quoted value: a block cut there starts
    inside the quotes (Arrow's blocks are 1 MiB)."""
    rows, size, i = [b"id,date,note\n"], 13, 0
    while size < (1 << 20) - 2000:
        rows.append(f"e{i},2024-03-01,plain\n".encode())
        size, i = size + len(rows[-1]), i + 1
    pad = (1 << 20) - size - len(f'e{i},2024-03-01,"') - 10
    long_value = "a" * pad + "\n,,,b" + "y" * 3000
    rows.append(f'e{i},2024-03-01,"{long_value}"\n'.encode())
    rows += [f"e{i + 1 + j},2024-03-02,after\n".encode() for j in range(1000)]

    result = read_events(b"".join(rows), ImportOptions(file_name="straddle.csv"))

    assert (result.accepted, result.rejected) == (i + 1001, 0)
    assert result.events["description"][i].as_py() == long_value
    assert result.events["description"][i + 1].as_py() == "after"


def _ragged_file_with_a_long_value(length: int) -> bytes:
    """A ragged row sends the file through Python's csv module; one quoted value is `length` characters."""
    long_value = "x" * length
    return (f'date,who,what\n2024-03-22,A,"{long_value}"\n2024-03-23,B,short,one field too many\n').encode()


def test_a_value_over_the_csv_modules_limit_is_said_plainly_and_the_process_is_not_changed() -> None:
    """Library code leaves Python's csv field limit as it is (process-wide state): a value over it is a clear
    message naming the line; under the import settings a process's main uses, the value is read whole, and
    the settings are restored afterwards."""
    data = _ragged_file_with_a_long_value(200_000)
    limit, switch = csv.field_size_limit(), sys.getswitchinterval()
    with pytest.raises(BadInputError, match=r"line 2: a value is longer than Python's csv module reads"):
        read_events(data)
    assert (csv.field_size_limit(), sys.getswitchinterval()) == (limit, switch)
    with cli.import_process_settings():
        result = read_events(data)
    assert (csv.field_size_limit(), sys.getswitchinterval()) == (limit, switch)
    assert result.events.column("description").to_pylist()[0] == "x" * 200_000
    assert result.rejected == 1
