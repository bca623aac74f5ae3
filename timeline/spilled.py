"""Events too many to hold in memory at once: written to parts on disk as an import reads them, and
read back in order a range of time at a time.

This is an external sort. Each part is sorted by timestamp before it is written, in record batches;
its timestamps stay in memory. Reading back, the timeline is cut into ranges of about BUCKET_ROWS
events; for each range, only the batches of each part that reach into it are read (once: a batch two
ranges share is kept for the second), its events are put in order, and they are handed on in groups.
Memory holds one range and the timestamps, never the dataset. Events sharing one timestamp stay in one
range, so a range holds more than BUCKET_ROWS where more events than that share an instant.

Parts are Arrow IPC files, LZ4-compressed: written and read back several times faster than Parquet's
encoding allows, and at a fifth of the text's size (what a disk takes in is what limits an import).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from timeline import schema as s

BUCKET_ROWS = 1 << 18
_PART_BATCH_ROWS = 1 << 12
_LZ4 = pa.ipc.IpcWriteOptions(compression="lz4")
ROW = "__row"  # a hidden column: the event's record's position among the rows read, from 0
Fix = Callable[[pa.Table], pa.Table]  # what is done to each piece read back (drop rows, set ids)


@dataclass(frozen=True)
class _Part:
    path: Path
    stamps: np.ndarray  # every row's timestamp, microseconds, in the part's (ascending) order
    starts: np.ndarray  # the first row of each record batch, and the row count at the end


class SpilledEvents:
    """Canonical events written in parts to a temporary directory (removed by close()), with hidden
    columns of the caller's (ROW, and any others); read back with the hidden columns dropped."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="timeline-events-", dir=directory))
        self._parts: list[_Part] = []
        self._fix: Fix | None = None
        self.ids_unique = False  # see finish
        self._rows = 0

    @property
    def num_rows(self) -> int:
        return self._rows

    def add(self, events: pa.Table) -> None:
        """Spill canonical events (schema.ARROW_SCHEMA, then hidden columns) as one more part."""
        if not events.select(list(s.COLUMN_NAMES)).schema.equals(s.ARROW_SCHEMA):
            raise ValueError("spilled events must start with the canonical columns, in their order")
        stamps = pc.cast(events[s.TIMESTAMP], pa.int64()).to_numpy()
        if len(stamps) > 1 and not bool((stamps[1:] >= stamps[:-1]).all()):
            order = np.argsort(stamps, kind="stable")
            events, stamps = events.take(pa.array(order)), stamps[order]
        path = self._directory / f"part-{len(self._parts):05d}.arrow"
        batches = events.to_batches(max_chunksize=_PART_BATCH_ROWS)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, events.schema, options=_LZ4) as writer:
            for batch in batches:
                writer.write_batch(batch)
        starts = np.cumsum([0] + [batch.num_rows for batch in batches], dtype=np.int64)
        self._parts.append(_Part(path, stamps, starts))
        self._rows += events.num_rows

    def finish(self, rows: int, fix: Fix | None = None, *, ids_unique: bool = False) -> None:
        """Every part is in: rows is how many events they hold once fix (given each piece read back,
        hidden columns and all, and returning canonical events) has been applied. ids_unique: the
        caller has checked that no two events share an event_id (store.save then need not)."""
        self._rows = rows
        self._fix = fix
        self.ids_unique = ids_unique

    def in_order(self, order: Callable[[pa.Table], pa.Table], rows_per_group: int) -> Iterator[pa.Table]:
        """Every event, in groups of rows_per_group (the last may be smaller), in the order that order
        gives a table's rows, which must sort by timestamp first."""
        carried: list[pa.Table] = []
        held = 0
        last_read: dict[int, tuple[int, pa.RecordBatch]] = {}  # per part: a batch the next range reads too

        def ordered(bounds: tuple[int, int]) -> pa.Table | None:
            pieces = list(self._pieces(*bounds, last_read))
            return order(self._fixed(pa.concat_tables(pieces))) if pieces else None

        # The next range is read and ordered on a thread of its own while the caller takes this one's
        # groups (both release the GIL): two ranges are held at most.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spilled") as reader:
            ranges = self._ranges()
            coming = [reader.submit(ordered, bounds) for bounds in itertools.islice(ranges, 1)]
            while coming:
                table = coming.pop().result()
                coming = [reader.submit(ordered, bounds) for bounds in itertools.islice(ranges, 1)]
                if table is None:
                    continue
                carried.append(table)
                held += table.num_rows
                if held < rows_per_group:
                    continue
                ready = pa.concat_tables(carried)
                whole = held - held % rows_per_group
                for start in range(0, whole, rows_per_group):
                    yield ready.slice(start, rows_per_group)
                carried, held = [ready.slice(whole)], held - whole
        if held:
            yield pa.concat_tables(carried)

    def pieces(self) -> Iterator[pa.Table]:
        """Every event, a part at a time, in no particular order (but the same every time)."""
        for part in self._parts:
            yield self._fixed(_read(part.path))

    def column(self, name: str) -> pa.ChunkedArray:
        """One canonical column of every event, in the order of pieces()."""
        chunks = [chunk for piece in self.pieces() for chunk in piece[name].chunks]
        return pa.chunked_array(chunks, s.ARROW_SCHEMA.field(name).type)

    def close(self) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> SpilledEvents:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fixed(self, table: pa.Table) -> pa.Table:
        """Spilled rows as events: the fix applied, then only the canonical columns."""
        return (table if self._fix is None else self._fix(table)).select(list(s.COLUMN_NAMES))

    def _ranges(self) -> Iterator[tuple[int, int]]:
        """Consecutive timestamp ranges [low, high), each holding about BUCKET_ROWS events (or all of
        one timestamp), that together cover every event."""
        stamps = np.sort(np.concatenate([part.stamps for part in self._parts] or [np.empty(0, np.int64)]))
        if not len(stamps):
            return
        bounds = np.unique(stamps[::BUCKET_ROWS])
        highs = np.append(bounds[1:], stamps[-1] + 1)
        yield from zip(bounds.tolist(), highs.tolist(), strict=True)

    def _pieces(
        self, low: int, high: int, last_read: dict[int, tuple[int, pa.RecordBatch]]
    ) -> Iterator[pa.Table]:
        """The spilled rows with a timestamp in [low, high): of each part, the slice of its batches that
        holds them (a part is sorted), each batch read once (last_read keeps one the next range needs)."""
        for number, part in enumerate(self._parts):
            first, stop = np.searchsorted(part.stamps, [low, high]).tolist()
            if first == stop:
                continue
            batches = range(
                int(np.searchsorted(part.starts, first, side="right")) - 1,
                int(np.searchsorted(part.starts, stop, side="left")),
            )
            with pa.OSFile(str(part.path)) as source:
                reader = pa.ipc.open_file(source)
                for index in batches:
                    kept = last_read.get(number)
                    batch = kept[1] if kept is not None and kept[0] == index else reader.get_batch(index)
                    begin, end = part.starts[index], part.starts[index + 1]
                    if end > stop:  # the next range starts in this batch
                        last_read[number] = (index, batch)
                    yield pa.Table.from_batches(
                        [batch.slice(max(first - begin, 0), min(stop, end) - max(first, begin))]
                    )


def _read(path: Path) -> pa.Table:
    with pa.OSFile(str(path)) as source:
        return pa.ipc.open_file(source).read_all()
