"""The reference snapshot's cache file under MEDIA_ROOT/cache/: its key, reading and writing.

Pure (no Django), so that the full path (``submissions.selectors.reference_snapshot_load``,
which builds the snapshot from the tables when its file is missing) and the quick path of
``manage.py dids_check`` (``submissions.quick_check``, which reads the same figures with SQL of
its own and never builds) name and read the same file. The key changes whenever the reference
data may have: the release, and the newest history row and the row count of every table the
snapshot reads (every write of a historied model, deletes too, adds a history row; the counts
catch a write that bypassed history); the rule set and the snapshot classes' code, whose shape
a pickle keeps; and the database's host and name (two databases may share a MEDIA_ROOT).
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from submissions.engine import reference as engine_reference
from submissions.engine.reference import ReferenceSnapshot
from submissions.engine.rules import RULESET_VERSION

SNAPSHOT_CODE = zlib.crc32(Path(engine_reference.__file__).read_bytes())
PATTERN = "reference-snapshot-*.pickle"


def snapshot_cache_key(*, host: str, name: str, release_pk: int | None,
                       tables: Sequence[tuple[int | None, int]]) -> str:
    """The key of the reference data: ``tables`` is (newest history id, row count) of each
    table the snapshot reads, in the order of ``selectors.REFERENCE_MODELS``."""
    database = f"{host}/{name}"
    parts = [f"{zlib.crc32(database.encode()):08x}", str(release_pk or 0), RULESET_VERSION,
             f"{SNAPSHOT_CODE:08x}"]
    parts.extend(f"{newest or 0}.{count}" for newest, count in tables)
    return "-".join(parts)


def snapshot_cache_path(media_root: str | os.PathLike[str], key: str) -> Path:
    return Path(media_root) / "cache" / f"reference-snapshot-{key}.pickle"


def snapshot_cache_read(path: Path) -> ReferenceSnapshot | None:
    """The snapshot in the file, or None when there is none (or it cannot be read)."""
    with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError):
        snapshot = _unpickle(path.read_bytes())
        if isinstance(snapshot, ReferenceSnapshot):
            return snapshot
    return None


def snapshot_cache_write(path: Path, snapshot: ReferenceSnapshot) -> None:
    """Write the file whole (another process may read it meanwhile) and drop older ones;
    a folder that cannot be written to is left as it is (the next check builds again)."""
    with contextlib.suppress(OSError):
        _cache_write(path, pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL))


def _unpickle(data: bytes) -> Any:
    """Tens of thousands of small objects: the cyclic garbage collector, which finds no garbage
    in them, would otherwise run hundreds of times meanwhile (half the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)  # noqa: S301 - a file this portal wrote, in its own folder
    finally:
        if enabled:
            gc.enable()


def _cache_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".reference-snapshot-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    for older in path.parent.glob(PATTERN):
        if older != path:
            with contextlib.suppress(OSError):
                older.unlink()
