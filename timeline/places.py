"""Where a store lives: a directory on this machine, or a prefix in an object store (`s3://bucket/prefix`).

timeline.store decides what a version holds and when it counts; a place does the file work, under the
guarantees its medium gives:
- A directory (LocalPlace) writes a version into a temporary directory and renames it into place in one
  step, syncs to disk, and serialises the writes to a dataset with a lock file.
- An object store (ObjectPlace, through pyarrow's filesystems: S3 and anything `pyarrow.fs` reads from a
  URL) has no rename and no lock. A version's files are put under their final keys, meta.json last, and
  the store counts a version only once all its files are there (each object is written whole, and S3 reads
  after a write see it), so a reader never sees half a version. Content-addressed ids make a repeated
  write put the same bytes again. What it cannot give: two writers to one dataset at the same moment are
  not serialised (each version is saved whole; an append may miss the other's rows, which stay in their
  own version), and a write cut short leaves objects no reader counts.

The object store's options ride on its URL, as pyarrow reads them (`?endpoint_override=host:port&
scheme=http&region=...`); credentials come from the environment (AWS_ACCESS_KEY_ID, ...), never the URL.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.fs as pafs

from timeline.errors import UsageError

TMP_PREFIX = ".tmp-"
LOCK_FILE = ".lock"
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")


class Place(Protocol):
    """The file work of a store, by path parts below its root (dataset id, version, file name)."""

    def names(self, *parts: str) -> list[str]:
        """The entries of a directory; none when it is missing or not a directory."""

    def files(self, *parts: str) -> set[str]:
        """The names of the files in a directory (one listing: one request to an object store)."""

    def is_dir(self, *parts: str) -> bool: ...

    def is_file(self, *parts: str) -> bool: ...

    def inside(self, *parts: str) -> bool:
        """Whether the path resolves inside the store (a link may point elsewhere)."""

    def read_bytes(self, *parts: str) -> bytes:
        """A file's bytes; FileNotFoundError when it is missing."""

    def open(self, *parts: str) -> pa.NativeFile:
        """A file opened for random reads (Parquet, CSV), for a `with` block."""

    def location(self, *parts: str) -> str:
        """What an engine reads the file as: an absolute path, or the object's URL."""

    def shown(self, *parts: str) -> Path | str:
        """Where a file or directory is, as a person is told: a path, or a URL without the options."""

    def make_dataset(self, dataset_id: str) -> None:
        """Make the dataset's directory ready for a write (UsageError where something else is in its way)."""

    def locked(self, dataset_id: str, *, wait: bool = True) -> contextlib.AbstractContextManager[None]:
        """Writes to the dataset one at a time (BlockingIOError when wait is False and another holds it)."""

    def put_version(self, dataset_id: str, version: str, files: Mapping[str, bytes | memoryview]) -> None:
        """Write a version's files so that no reader sees it before all are there (the last file named
        is written last: meta.json)."""

    def replace(self, dataset_id: str, name: str, data: bytes) -> None:
        """Write a dataset-level file whole: a reader sees the old content or the new, never half."""

    def has_leftovers(self, dataset_id: str) -> bool:
        """Whether interrupted writes to the dataset left something behind."""

    def remove_leftovers(self, dataset_id: str) -> int:
        """Remove what interrupted writes to the dataset left behind, the caller holding its lock (no
        write is under way then); how many entries were removed."""


def at(root: Path | str | Place) -> Place:
    """The place of a store root: a Place as it is, a URL (`s3://…`) as an object store, else a directory."""
    if isinstance(root, LocalPlace | ObjectPlace):
        return root
    if isinstance(root, str) and is_url(root):
        return _object_place(root)
    return LocalPlace(Path(root).expanduser())


def is_url(root: str) -> bool:
    """Whether a configured store root names an object store (a URL with a scheme) rather than a directory."""
    return _URL.match(root.strip()) is not None


class LocalPlace:
    """A store in a directory of this machine (POSIX rename, fsync and flock)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __str__(self) -> str:
        return str(self.root)

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def names(self, *parts: str) -> list[str]:
        try:
            return [entry.name for entry in os.scandir(self.path(*parts))]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def files(self, *parts: str) -> set[str]:
        try:
            return {entry.name for entry in os.scandir(self.path(*parts)) if entry.is_file()}
        except (FileNotFoundError, NotADirectoryError):
            return set()

    def is_dir(self, *parts: str) -> bool:
        return self.path(*parts).is_dir()

    def is_file(self, *parts: str) -> bool:
        return self.path(*parts).is_file()

    def inside(self, *parts: str) -> bool:
        return self.path(*parts).resolve().is_relative_to(self.root.resolve())

    def read_bytes(self, *parts: str) -> bytes:
        return self.path(*parts).read_bytes()

    def open(self, *parts: str) -> pa.NativeFile:
        return pa.OSFile(str(self.path(*parts)))

    def location(self, *parts: str) -> str:
        return str(self.path(*parts).absolute())

    def shown(self, *parts: str) -> Path | str:
        return self.path(*parts)

    def make_dataset(self, dataset_id: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        dataset_dir = self.path(dataset_id)
        try:
            dataset_dir.mkdir(exist_ok=True)
        except FileExistsError as exc:
            raise UsageError(
                f"cannot create dataset {dataset_id!r}: a file with that name is in the store",
                file=str(dataset_dir),
            ) from exc
        if not dataset_dir.is_dir() or not self.inside(dataset_id):
            raise UsageError(f"cannot write dataset {dataset_id!r}: its directory points outside the store")

    @contextlib.contextmanager
    def locked(self, dataset_id: str, *, wait: bool = True) -> Iterator[None]:
        fd = os.open(self.path(dataset_id, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            yield
        finally:
            os.close(fd)  # closing the last descriptor releases the lock

    def put_version(self, dataset_id: str, version: str, files: Mapping[str, bytes | memoryview]) -> None:
        """Write the files into a temporary directory, then rename it into place in one step."""
        dataset_dir = self.path(dataset_id)
        tmp = dataset_dir / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        target = dataset_dir / version
        tmp.mkdir()
        try:
            for name, data in files.items():
                _write_file(tmp / name, data)
            _fsync_dir(tmp)
            try:
                os.rename(tmp, target)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                if all((target / name).is_file() for name in files):
                    # Same id means same content: keep the version already there.
                    shutil.rmtree(tmp, ignore_errors=True)
                    return
                # A damaged directory under a version name is never shown; set it aside, keep its files.
                os.rename(target, dataset_dir / f".broken-{version}-{uuid.uuid4().hex}")
                os.rename(tmp, target)
            _fsync_dir(dataset_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def replace(self, dataset_id: str, name: str, data: bytes) -> None:
        """The new content written to a temporary file, then renamed over the old in one step."""
        dataset_dir = self.path(dataset_id)
        tmp = dataset_dir / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            _write_file(tmp, data)
            os.rename(tmp, dataset_dir / name)
            _fsync_dir(dataset_dir)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def has_leftovers(self, dataset_id: str) -> bool:
        return any(name.startswith(TMP_PREFIX) for name in self.names(dataset_id))

    def remove_leftovers(self, dataset_id: str) -> int:
        removed = 0
        for entry in os.scandir(self.path(dataset_id)):
            if entry.name.startswith(TMP_PREFIX):
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
                    removed += 1
        return removed


class ObjectPlace:
    """A store under a prefix of an object store, read and written through a pyarrow filesystem."""

    def __init__(self, url: str, filesystem: pafs.FileSystem, base: str) -> None:
        self.url = url
        self.filesystem = filesystem
        self.base = base.rstrip("/")

    def __str__(self) -> str:
        return without_options(self.url).rstrip("/")  # the options are not where it is

    def key(self, *parts: str) -> str:
        return "/".join((self.base, *parts))

    def names(self, *parts: str) -> list[str]:
        return [info.base_name for info in self._listing(*parts)]

    def files(self, *parts: str) -> set[str]:
        return {info.base_name for info in self._listing(*parts) if info.type == pafs.FileType.File}

    def _listing(self, *parts: str) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(self.key(*parts), allow_not_found=True, recursive=False)
        try:
            return self.filesystem.get_file_info(selector)
        except (FileNotFoundError, NotADirectoryError):
            return []

    def is_dir(self, *parts: str) -> bool:
        return self.filesystem.get_file_info(self.key(*parts)).type == pafs.FileType.Directory

    def is_file(self, *parts: str) -> bool:
        return self.filesystem.get_file_info(self.key(*parts)).type == pafs.FileType.File

    def inside(self, *parts: str) -> bool:
        return True  # keys have no links: a validated id names a key under the prefix, nothing else

    def read_bytes(self, *parts: str) -> bytes:
        with self.filesystem.open_input_stream(self.key(*parts)) as stream:
            return stream.read()

    def open(self, *parts: str) -> pa.NativeFile:
        return self.filesystem.open_input_file(self.key(*parts))

    def location(self, *parts: str) -> str:
        address = urlsplit(self.url)
        return urlunsplit(address._replace(path="/".join((address.path.rstrip("/"), *parts))))

    def shown(self, *parts: str) -> Path | str:
        return "/".join((str(self), *parts))

    def make_dataset(self, dataset_id: str) -> None:
        if self.is_file(dataset_id):
            raise UsageError(
                f"cannot create dataset {dataset_id!r}: an object with that name is in the store",
                file=self.location(dataset_id),
            )

    @contextlib.contextmanager
    def locked(self, dataset_id: str, *, wait: bool = True) -> Iterator[None]:
        yield  # an object store has no lock (see the module's docstring)

    def put_version(self, dataset_id: str, version: str, files: Mapping[str, bytes | memoryview]) -> None:
        """Each file put under its final key, the last (meta.json) last: the version counts from then on."""
        self.filesystem.create_dir(self.key(dataset_id, version))  # a local filesystem's, by a file:// URL
        for name, data in files.items():
            with self.filesystem.open_output_stream(self.key(dataset_id, version, name)) as stream:
                stream.write(data)

    def replace(self, dataset_id: str, name: str, data: bytes) -> None:
        """One object written whole: an object store swaps it in one step."""
        with self.filesystem.open_output_stream(self.key(dataset_id, name)) as stream:
            stream.write(data)

    def has_leftovers(self, dataset_id: str) -> bool:
        return False  # a write cut short leaves no temporary entries here: its objects are never counted

    def remove_leftovers(self, dataset_id: str) -> int:
        return 0


def arrow_file(url: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and path pyarrow reads an object's URL (`location`) with: one filesystem per store
    and options for the process (pyarrow's are safe to share between threads, and making one may ask the
    network, e.g. a bucket's region). A URL no filesystem reads is a UsageError naming it."""
    address = urlsplit(url.strip())
    try:
        filesystem = _filesystem(urlunsplit(address._replace(path="/")))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise UsageError(
            f"the store {without_options(url)!r} cannot be opened: {exc}",
            hint="an object store is named like s3://bucket/prefix (options after ?, "
            "e.g. ?endpoint_override=host:9000&scheme=http), or give a directory",
        ) from exc
    return filesystem, f"{address.netloc}{address.path}".rstrip("/")


def without_options(url: str) -> str:
    """An object's URL without the options pyarrow reads (for an engine that has filesystems of its own)."""
    return urlunsplit(urlsplit(url.strip())._replace(query="", fragment=""))


@functools.cache
def _object_place(url: str) -> ObjectPlace:
    filesystem, base = arrow_file(url)
    return ObjectPlace(url.strip(), filesystem, base)


@functools.cache
def _filesystem(url: str) -> pafs.FileSystem:
    return pafs.FileSystem.from_uri(url)[0]


def _write_file(path: Path, data: bytes | memoryview) -> None:
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
