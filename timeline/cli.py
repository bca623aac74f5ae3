"""The command line: import, validate, list, export and withdraw datasets (`python -m timeline ...`)."""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from timeline import engines, exports, sniff, store, streamed_import
from timeline.errors import BadInputError, TimelineError, UsageError
from timeline.ingest import ImportOptions, ImportResult, version_meta

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE = 0, 1, 2
_SHOWN_REJECTS = 10
# C0 and C1 controls (newline and tab too: one printed line is one line, its fields split by tabs), DEL,
# and the bidirectional controls that can make a line read as something else (overrides, isolates, marks).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one printable line on stderr with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, _printable(f"{self.prog}: error: {message} (see --help)") + "\n")


def _mapping(pairs: Sequence[str]) -> dict[str, str | None]:
    mapping: dict[str, str | None] = {}
    for pair in pairs:
        field_name, sep, column = pair.partition("=")
        if not sep or not field_name:
            raise UsageError(f"--map takes FIELD=COLUMN; got {pair!r}")
        mapping[field_name.strip()] = column or None
    return mapping


def _options(args: argparse.Namespace) -> ImportOptions:
    date_order = "dayfirst" if args.dayfirst else "monthfirst" if args.monthfirst else "auto"
    return ImportOptions(
        file_name=Path(args.file).name,
        mapping=_mapping(args.map or []),
        tz=args.tz,
        date_order=date_order,
        max_bytes=args.max_bytes,
        max_columns=args.max_columns,
    )


@contextlib.contextmanager
def _read(args: argparse.Namespace) -> Iterator[tuple[sniff.Content | Path, ImportResult]]:
    """What was read (store.save hashes it: the content, or a large file's path) and what it imports as;
    events spilled to disk are removed on leaving."""
    source, result = streamed_import.read_path(Path(args.file), _options(args))
    try:
        yield source, result
    finally:
        result.close()


def _nothing_usable(result: ImportResult, file_name: str, hint: str | None = None) -> BadInputError:
    """The error for a file whose every row was rejected or dropped: there is nothing to save."""
    first = result.rejects.slice(0, 1).to_pylist()
    why = f"; first: line {first[0]['line']}: {first[0]['reason']}" if first else ""
    return BadInputError(
        f"no row could be imported ({result.rows_read} rows read, {result.rejected} rejected, "
        f"{result.duplicates} exact duplicates{why})",
        file=file_name,
        hint=hint,
    )


def _printable(text: str) -> str:
    """Text for a terminal, on one line: each control or bidirectional character as a visible escape,
    \\u001b for ESC, never acted on. The escape is JSON's own, so JSON made printable stays the same JSON."""
    return _UNPRINTABLE.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


def _emit(*rows: str | Sequence[str], file: TextIO | None = None) -> None:
    """Print rows, each a line or the fields of a tab-separated line, every one made printable: all this
    command line writes as text goes through here (names, file and column names, reasons, errors)."""
    for row in rows:
        line = _printable(row) if isinstance(row, str) else "\t".join(map(_printable, row))
        print(line, file=file or sys.stdout)


def _emit_json(value: object) -> None:
    """Print JSON, readable (not ASCII-escaped) yet printable: json escapes C0 controls in strings itself,
    and _printable the rest (DEL, C1, bidirectional) the same way; it decodes to the text as stored."""
    _emit(*json.dumps(value, ensure_ascii=False, indent=2).split("\n"))


def _report(result: ImportResult, *, dataset: str | None, rejects_file: str | None, as_json: bool) -> None:
    if as_json:
        _emit_json({"dataset": dataset, **result.summary(), "rejects_file": rejects_file})
        return
    lines = [
        f"{result.rows_read} rows read: {result.accepted} accepted, {result.rejected} rejected, "
        f"{result.duplicates} exact duplicates dropped",
        f"layout: {result.preset}, {result.encoding}, delimiter {result.delimiter!r}",
        "mapping: " + ", ".join(f"{field}={column}" for field, column in result.mapping.items()),
    ]
    lines += [f"note: {notice}" for notice in result.notices]
    for row in result.rejects.slice(0, _SHOWN_REJECTS).to_pylist():
        lines.append(f"rejected line {row['line']}: {row['reason']}")
    if result.rejected > _SHOWN_REJECTS:
        lines.append(f"... and {result.rejected - _SHOWN_REJECTS} more rejected rows")
    if dataset:
        lines.append(
            f"saved as dataset {dataset}" + (f"; rejected rows in {rejects_file}" if rejects_file else "")
        )
    _emit(*lines)


def _import(args: argparse.Namespace) -> int:
    with _read(args) as (source, result):
        if result.accepted == 0:
            raise _nothing_usable(result, Path(args.file).name, "`validate` lists every rejected row and why")
        name = args.name or Path(args.file).stem
        dataset_id = store.slugify(name)
        meta = version_meta(result, name=name, source_file=Path(args.file).name, options=_options(args))
        info = store.save(
            result.events,
            result.rejects,
            meta,
            dataset_id=dataset_id,
            append=args.append,
            source=source,
            author=store.Author.operator(),
        )
        rejects_file = f"{info.path}/{store.REJECTS_FILE}"  # a directory, or an object store's URL
        _report(result, dataset=dataset_id, rejects_file=rejects_file, as_json=args.json)
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    with _read(args) as (_, result):
        _report(result, dataset=None, rejects_file=None, as_json=args.json)
        if result.accepted == 0:
            raise _nothing_usable(result, Path(args.file).name)
    return EXIT_OK


def _listed(dataset: store.DatasetInfo, *, withdrawn: bool) -> dict:
    """One dataset as `list --json` prints it; its withdrawn versions only when asked (--all)."""
    listed = {
        "dataset": dataset.dataset_id,
        "name": dataset.name,
        "version": dataset.latest.version,
        "created": dataset.latest.created,
        "rows": dataset.latest.meta.get("rows"),
        "versions": [v.version for v in dataset.versions],
    }
    if withdrawn:
        listed["withdrawn"] = [
            {
                "version": w.version,
                "withdrawn": w.withdrawn,
                "by": dataclasses.asdict(w.by),
                "reason": w.reason,
            }
            for w in dataset.withdrawn
        ]
    return listed


def _list(args: argparse.Namespace) -> int:
    datasets = store.list_datasets()
    if args.json:
        _emit_json([_listed(d, withdrawn=args.all) for d in datasets])
        return EXIT_OK
    if not datasets:
        _emit(f"no datasets in {store.store_root()}")
    for d in datasets:
        latest = d.latest
        _emit(
            (
                d.dataset_id,
                f"{latest.meta.get('rows')} events",
                f"version {latest.version} ({len(d.versions)} in all)",
                latest.created,
                d.name,
            )
        )
        if args.all:
            _emit(*(("", "WITHDRAWN", w.notice) for w in d.withdrawn))
    return EXIT_OK


def _withdraw(args: argparse.Namespace) -> int:
    withdrawal = store.withdraw(
        args.dataset, args.version, reason=args.reason, author=store.Author.operator(args.by)
    )
    newest = store.version_info(args.dataset)
    _emit(withdrawal.notice, f"{args.dataset} now opens at version {newest.version}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    engine = engines.connect(engines.EngineSettings.read(os.environ))
    try:
        made = exports.version_download(args.dataset, args.version, args.format, engine)
        if args.output in (None, "-"):
            for chunk in made.chunks:
                sys.stdout.buffer.write(chunk)
            return EXIT_OK
        # Written beside the target and renamed into place: a failed export leaves no half file behind.
        target = Path(args.output)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as out:
            try:
                for chunk in made.chunks:
                    out.write(chunk)
            except BaseException:
                Path(out.name).unlink(missing_ok=True)
                raise
        os.replace(out.name, target)
    finally:
        engine.close()
    return EXIT_OK


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="CSV or TSV file")
    parser.add_argument(
        "--map",
        action="append",
        metavar="FIELD=COLUMN",
        help="use COLUMN for FIELD (a canonical column or date, time, year, month, day, end_date, end_time)",
    )
    parser.add_argument("--tz", default="UTC", help="IANA zone of times without an offset (default UTC)")
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", action="store_true", help="numeric dates are day/month/year")
    order.add_argument("--monthfirst", action="store_true", help="numeric dates are month/day/year")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--max-bytes", type=int, default=ImportOptions.max_bytes, help=argparse.SUPPRESS)
    parser.add_argument(
        "--max-columns",
        type=int,
        default=ImportOptions.max_columns,
        help=f"refuse a file with more columns than this (default {ImportOptions.max_columns:,})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m timeline", description="Event Timeline datasets from the command line.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    importer = commands.add_parser("import", help="import a CSV into the store as a new dataset version")
    _add_read_options(importer)
    importer.add_argument("--name", help="dataset name (default: the file name); its slug is the dataset id")
    importer.add_argument("--append", action="store_true", help="merge into the newest version, by event_id")
    importer.set_defaults(run=_import)
    validate = commands.add_parser("validate", help="read and report a CSV; write nothing")
    _add_read_options(validate)
    validate.set_defaults(run=_validate)
    listing = commands.add_parser("list", help="list the datasets in the store")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--all", action="store_true", help="also list withdrawn versions, with who and why")
    listing.set_defaults(run=_list)
    export = commands.add_parser("export", help="write a dataset's events as CSV or Parquet")
    export.add_argument("dataset", help="dataset id")
    export.add_argument("--format", default="csv", choices=("csv", "parquet"))
    export.add_argument("--version", help="version id (default: the newest)")
    export.add_argument("-o", "--output", help="output file (default: standard output)")
    export.set_defaults(run=_export)
    withdraw = commands.add_parser(
        "withdraw", help="hide a version everywhere (kept on disk, recorded with who, when and why)"
    )
    withdraw.add_argument("dataset", help="dataset id")
    withdraw.add_argument("version", help="version id")
    withdraw.add_argument(
        "--reason", required=True, help="why it is withdrawn (shown to whoever asks for it)"
    )
    withdraw.add_argument("--by", help="who withdraws it (default: your login name)")
    withdraw.set_defaults(run=_withdraw)
    return parser


# A short GIL switch interval while an import runs: its two threads each make thousands of short numpy and
# Arrow calls that release the GIL, and with Python's default 5 ms a thread coming back from one waits for
# the other to give the GIL up (the parallel half of an import took 60-90 % longer than alone).
IMPORT_SWITCH_INTERVAL_S = 0.0005
# Python's csv module refuses values over 128 KiB by default; real files hold longer cells (whole articles).
IMPORT_FIELD_SIZE_LIMIT = 1 << 30


@contextlib.contextmanager
def import_process_settings() -> Iterator[None]:
    """The process-wide settings imports run best with, restored on the way out. Only a process's main may
    use it (this CLI's, the page's import worker's, a benchmark's): it changes the whole interpreter."""
    switch, field = sys.getswitchinterval(), csv.field_size_limit()
    sys.setswitchinterval(min(switch, IMPORT_SWITCH_INTERVAL_S))
    csv.field_size_limit(max(field, IMPORT_FIELD_SIZE_LIMIT))
    try:
        yield
    finally:
        sys.setswitchinterval(switch)
        csv.field_size_limit(field)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors become one line on stderr and an exit status, never a traceback.

    Every command that uses the store first removes what interrupted writes left in it (validate writes
    nothing, so it does not)."""
    args = build_parser().parse_args(argv)
    try:
        if args.run is not _validate:
            store.remove_leftovers()
        with import_process_settings():
            return args.run(args)
    except UsageError as exc:
        _emit(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TimelineError as exc:
        _emit(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        _emit(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_BAD_INPUT


def run() -> NoReturn:
    """`python -m timeline`: main(), then exit without the interpreter's teardown.

    Arrow's native thread pool can abort a finishing process (SIGABRT, "terminate called without an
    active exception", apache/arrow#34314), turning exit status 0 or 1 into 134 now and then. The
    output is flushed and every file the store writes is already closed and synced, so nothing is lost.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        code = code or EXIT_BAD_INPUT
    os._exit(code)
