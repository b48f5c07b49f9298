"""Opening a submitted file: a path or file object, a CSV or a zip holding one, re-openable."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

import pyarrow as pa

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass
class FileProblem:
    kind: str  # the file-level rule's kind (rules.FILE_KINDS): the rules data gives its id
    detail: str
    line: int | None = None
    expected: str | None = None


class FileRejected(Exception):
    def __init__(self, problem: FileProblem):
        super().__init__(problem.detail)
        self.problem = problem


class Source:
    """The CSV bytes of a submitted path or file object, re-openable from the start."""

    def __init__(self, source: str | os.PathLike[str] | IO[bytes], *, max_ratio: float, max_bytes: int):
        self._tmp: str | None = None
        self._zip: zipfile.ZipFile | None = None
        self._member: zipfile.ZipInfo | None = None
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            if not path.exists():
                raise FileNotFoundError(path)
            self._path: str | None = str(path)
            self._obj: IO[bytes] | None = None
        else:
            self._path = None
            self._obj = source
            if not (hasattr(source, "seekable") and source.seekable()):
                fd, self._tmp = tempfile.mkstemp(prefix="dids-", suffix=".upload")
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                self._path, self._obj = self._tmp, None
            else:
                self._start = source.tell()
        # Measured now, never while pyarrow reads (it may read ahead from another thread).
        if self._path is not None:
            self._size = os.path.getsize(self._path)
        else:
            assert self._obj is not None
            self._size = self._obj.seek(0, io.SEEK_END) - self._start
            self._obj.seek(self._start)
        with self._open_raw() as raw:
            magic = raw.read(4)
        if magic in ZIP_MAGIC:
            self._open_zip(max_ratio, max_bytes)

    def _open_raw(self) -> BinaryIO:
        if self._path is not None:
            return open(self._path, "rb")
        assert self._obj is not None
        self._obj.seek(self._start)
        return _NoClose(self._obj)  # type: ignore[return-value]

    def _open_zip(self, max_ratio: float, max_bytes: int) -> None:
        try:
            zf = zipfile.ZipFile(self._path if self._path else self._obj)  # type: ignore[arg-type]
            members = [i for i in zf.infolist() if not i.is_dir() and not _ignored_in_zip(i.filename)]
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise FileRejected(FileProblem("file_zip", f"not a readable zip file ({exc})")) from exc
        self._zip = zf
        if len(members) != 1:
            names = f" ({', '.join(m.filename for m in members[:5])})" if members else ""
            raise FileRejected(FileProblem("file_zip", f"it holds {len(members)} files{names}, not exactly one CSV"))
        m = members[0]
        if m.file_size > max_bytes:
            raise FileRejected(FileProblem("file_zip", f"{m.filename} declares {m.file_size:,} bytes, over the {max_bytes:,}-byte limit"))
        ratio = m.file_size / max(m.compress_size, 1)
        if ratio > max_ratio:
            raise FileRejected(FileProblem("file_zip", f"{m.filename} has a compression ratio of {ratio:,.0f}:1, over {max_ratio:g}:1"))
        if m.flag_bits & 0x1:
            raise FileRejected(FileProblem("file_zip", f"{m.filename} is encrypted"))
        try:
            with zf.open(m) as fh:
                magic = fh.read(4)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise FileRejected(FileProblem("file_zip", f"{m.filename} cannot be read ({exc})")) from exc
        if magic in ZIP_MAGIC or m.filename.lower().endswith(".zip"):
            raise FileRejected(FileProblem(
                "file_zip", f"it holds {m.filename}, which is itself a zip: put the CSV file directly in the zip"))
        if not m.filename.lower().endswith(".csv"):
            raise FileRejected(FileProblem(
                "file_zip", f"it holds {m.filename}, which is not a CSV file (its name does not end in .csv)"))
        self._member = m

    @property
    def is_zip(self) -> bool:
        return self._member is not None

    @property
    def size(self) -> int:
        """The CSV's size in bytes (a zip member's declared size)."""
        if self._member is not None:
            return self._member.file_size
        return self._size

    def open(self) -> BinaryIO:
        """A fresh binary stream of the CSV bytes from the start."""
        if self._zip is not None and self._member is not None:
            return _ZipGuard(self._zip.open(self._member), self._member.file_size)  # type: ignore[return-value]
        return self._open_raw()

    def arrow_input(self) -> pa.NativeFile | BinaryIO:
        if self._path is not None and self._zip is None:
            return pa.OSFile(self._path, "rb")  # read, not memory-mapped: RSS stays flat
        return self.open()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tmp:
            os.unlink(self._tmp)


def _ignored_in_zip(name: str) -> bool:
    """What macOS adds to every zip it makes: the __MACOSX/ folder of resource forks."""
    return name.startswith("__MACOSX/")


class _NoClose(io.RawIOBase):
    def __init__(self, inner: IO[bytes]):
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, b):  # type: ignore[no-untyped-def]
        data = self._inner.read(len(b))
        b[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(size)


class _ZipGuard(_NoClose):
    """Stop a zip member that inflates past its declared size (a lying header)."""

    def __init__(self, inner: IO[bytes], limit: int):
        super().__init__(inner)
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise zipfile.BadZipFile("member inflates past its declared size")
        return data
