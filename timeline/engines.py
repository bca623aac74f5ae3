"""Which engine computes the views (DuckDB embedded, or Apache Spark), and connections to it.

Every connection runs its session in UTC: the query layer compares and bins instants as UTC microseconds,
and an engine left in the server's local zone would move day boundaries. DuckDB is embedded (no server, no
network); Spark is an optional install (`requirements-spark.txt`), reached as a local master, a cluster
master, or a Spark Connect server.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from timeline.errors import UsageError

ENGINE_VARIABLE = "TIMELINE_ENGINE"  # duckdb (default) or spark
SPARK_MASTER_VARIABLE = "TIMELINE_SPARK_MASTER"  # e.g. local[2] (default), spark://host:7077, yarn
SPARK_REMOTE_VARIABLE = "TIMELINE_SPARK_REMOTE"  # a Spark Connect server, e.g. sc://host:15002
DUCKDB_MEMORY_VARIABLE = "TIMELINE_DUCKDB_MEMORY"  # DuckDB's memory_limit, e.g. 1GB
ENGINES: tuple[str, ...] = ("duckdb", "spark")
DEFAULT_SPARK_MASTER = "local[2]"
DEFAULT_DUCKDB_MEMORY = "1GB"  # the page server's budget is 1.5 GB; DuckDB spills to disk beyond this
SESSION_ZONE = "UTC"


@dataclass(frozen=True)
class EngineSettings:
    """The engine chosen by the operator's environment."""

    kind: str = "duckdb"
    spark_master: str = DEFAULT_SPARK_MASTER
    spark_remote: str | None = None
    duckdb_memory: str = DEFAULT_DUCKDB_MEMORY

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> EngineSettings:
        """The settings in environ (os.environ); a wrong value is refused with what is allowed."""
        kind = environ.get(ENGINE_VARIABLE, "").strip().lower() or "duckdb"
        if kind not in ENGINES:
            raise UsageError(
                f"{ENGINE_VARIABLE}={environ[ENGINE_VARIABLE]!r} names no engine",
                hint=f"use one of {', '.join(ENGINES)}",
            )
        remote = environ.get(SPARK_REMOTE_VARIABLE, "").strip() or None
        if remote is not None and not remote.startswith("sc://"):
            raise UsageError(
                f"{SPARK_REMOTE_VARIABLE}={remote!r} is not a Spark Connect address",
                hint="it starts with sc://, e.g. sc://spark.example.org:15002",
            )
        return cls(
            kind=kind,
            spark_master=environ.get(SPARK_MASTER_VARIABLE, "").strip() or DEFAULT_SPARK_MASTER,
            spark_remote=remote,
            duckdb_memory=environ.get(DUCKDB_MEMORY_VARIABLE, "").strip() or DEFAULT_DUCKDB_MEMORY,
        )

    def describe(self) -> str:
        """The engine in a few words, for the page and the logs."""
        if self.kind == "duckdb":
            return "DuckDB (embedded)"
        return f"Apache Spark ({self.spark_remote or self.spark_master})"


@dataclass
class Engine:
    """A connection to the chosen engine, for any thread: each thread gets its own DuckDB cursor (a DuckDB
    connection must not run two queries at once; cursors share the database and its memory limit),
    while a Spark session takes jobs from any thread."""

    settings: EngineSettings
    _root: Any = None
    _local: threading.local = field(default_factory=threading.local)
    _detached: bool = False  # one connection of its own, whatever thread uses it (see detached)
    _kept: _Kept = field(default_factory=lambda: _Kept())

    @property
    def kind(self) -> str:
        return self.settings.kind

    def detached(self) -> Engine:
        """An engine on the same database with one connection of its own, used by no other thread: a long
        read (a streamed download, iterated from any thread of a server's pool) holds it while the page's
        threads run their queries on theirs. Close it when done; a Spark session serves any thread."""
        return Engine(self.settings, self._root, _local=_Holder(), _detached=True)

    def backend(self) -> Any:
        """This thread's Ibis backend (a detached engine's own)."""
        if self.kind == "spark":
            return self._root
        backend = getattr(self._local, "backend", None)
        if backend is None:
            import ibis

            backend = ibis.duckdb.from_connection(self._root.cursor())
            backend.raw_sql(f"SET TimeZone = '{SESSION_ZONE}'")
            self._local.backend = backend
        return backend

    def tables(self) -> dict[str, Any]:
        """Tables registered in this thread's backend, by what they were read from (timeline.query)."""
        holder = self if self.kind == "spark" and not self._detached else self._local
        if not hasattr(holder, "_tables"):
            holder._tables = {}
        return holder._tables

    def keep(
        self, name: str, make: Callable[[], int | None], drop: Callable[[str], None], *, most: int
    ) -> int | None:
        """How many rows the table `name`, kept in the engine's database (every thread's connection sees
        it), holds; None when it is not kept. `make` makes it the first time it is asked for and says the
        same (a refusal is remembered too); one thread makes it while others asking for it wait. At most
        `most` tables are kept: the one asked for least recently is dropped (by `drop`, given its name)."""
        kept = self._kept
        with kept.lock:
            making = kept.making.setdefault(name, threading.Lock())
        with making:
            with kept.lock:
                if name in kept.tables:
                    kept.tables.move_to_end(name)
                    return kept.tables[name]
            rows = make()
            with kept.lock:
                kept.tables[name] = rows
                kept.making.pop(name, None)
                dropped = list(kept.tables)[:-most]
                for old in dropped:
                    del kept.tables[old]
        for old in dropped:
            drop(old)
        return rows

    def close(self) -> None:
        """Release the engine (DuckDB's database; a Spark session is stopped only if this engine made a
        local one)."""
        if self._detached:  # its own connection only (a Spark session is shared: left running)
            if self.kind == "duckdb" and (backend := getattr(self._local, "backend", None)) is not None:
                backend.con.close()
        elif self.kind == "duckdb":
            self._root.close()
        elif self.settings.spark_remote is None and self.settings.spark_master.startswith("local"):
            self._root._session.stop()


class _Holder:
    """What a detached engine keeps where a shared one keeps its per-thread state."""


@dataclass
class _Kept:
    """The tables an engine keeps (Engine.keep): by name, their rows (None: not kept), least recently asked
    first."""

    tables: OrderedDict[str, int | None] = field(default_factory=OrderedDict)
    making: dict[str, threading.Lock] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def shared(environ: Mapping[str, str]) -> Engine:
    """The process's engine for the settings in environ: the page and the download route share it."""
    return _shared(EngineSettings.read(environ))


@functools.cache
def _shared(settings: EngineSettings) -> Engine:
    return connect(settings)


def connect(settings: EngineSettings) -> Engine:
    """An Engine for settings. Spark is imported only here, so a DuckDB server never loads it."""
    if settings.kind == "duckdb":
        import duckdb

        database = duckdb.connect(":memory:", config={"memory_limit": settings.duckdb_memory})
        database.execute(f"SET TimeZone = '{SESSION_ZONE}'")  # not a connect option: it needs ICU loaded
        # Parquet footers read once per file, not once per query: versions never change.
        database.execute("SET enable_object_cache = true")
        # Every read of the query layer that returns rows orders them itself: DuckDB need not keep the
        # file's order, which halves the time it takes to keep a search's matches (timeline.query.held).
        database.execute("SET preserve_insertion_order = false")
        return Engine(settings, database)
    return Engine(settings, _spark_backend(settings))


def _spark_backend(settings: EngineSettings) -> Any:
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise UsageError(
            f"{ENGINE_VARIABLE}=spark needs PySpark, which is not installed",
            hint="pip install -r requirements-spark.txt (Java 17 or later is needed too)",
        ) from exc
    builder = SparkSession.builder.appName("event-timeline")
    if settings.spark_remote is not None:
        builder = builder.remote(settings.spark_remote)
    else:
        builder = builder.master(settings.spark_master).config("spark.ui.enabled", "false")
    session = builder.config("spark.sql.session.timeZone", SESSION_ZONE).getOrCreate()
    session.conf.set("spark.sql.session.timeZone", SESSION_ZONE)  # an existing session keeps its own
    return ibis.pyspark.connect(session)
