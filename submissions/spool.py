"""A received file's first stop: copied to a private spool beside the stored files, hashed and
held to the size limit in one pass, then moved into storage by a rename."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from dids_portal.lib.errors import DomainError

CHUNK = 1024 * 1024
# The spool holds patient data before it is stored: the portal's user only. (NamedTemporaryFile
# makes its files 0600; storage sets FILE_UPLOAD_PERMISSIONS once the spool is moved in.)
SPOOL_DIR_MODE = 0o700


@dataclass
class StoredUpload:
    temp: IO[bytes]
    size: int
    sha256: str
    first_megabyte: bytes

    def discard(self) -> None:
        """Close the spool, and remove it unless storage has moved it into place."""
        self.temp.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp.name)


class SpooledFile(File):  # type: ignore[type-arg]
    """The spool as Django's storage sees an uploaded temporary file: it is moved into
    place (a rename on the same file system), not copied a second time."""

    def __init__(self, spool: IO[bytes]) -> None:
        super().__init__(spool)
        self.spool_path = str(spool.name)

    def temporary_file_path(self) -> str:
        return self.spool_path


def spool_dir() -> str | None:
    """A directory beside the stored files, so that storing the spool is a rename."""
    try:
        path = os.path.join(default_storage.path(""), ".incoming")
    except NotImplementedError:  # storage without local paths: the system's temp directory
        return None
    os.makedirs(path, mode=SPOOL_DIR_MODE, exist_ok=True)
    os.chmod(path, SPOOL_DIR_MODE)  # also if an older release made it readable to all
    return path


def spool(upload: IO[bytes]) -> StoredUpload:
    """Copy the upload to a temporary file, hashing it and enforcing the size limit, in one pass."""
    limit = settings.DIDS_MAX_UPLOAD_BYTES
    digest = hashlib.sha256()
    size = 0
    head = b""
    temp = tempfile.NamedTemporaryFile(dir=spool_dir(), prefix="upload-", delete=False)  # noqa: SIM115
    stored = StoredUpload(temp=temp, size=0, sha256="", first_megabyte=b"")
    try:
        while chunk := upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise DomainError(f"The file is larger than the limit of {limit:,} bytes.",
                                  code="file_too_large", status_code=413)
            if len(head) < CHUNK:
                head += chunk[: CHUNK - len(head)]
            digest.update(chunk)
            temp.write(chunk)
        temp.flush()
        temp.seek(0)
    except BaseException:
        stored.discard()
        raise
    stored.size, stored.sha256, stored.first_megabyte = size, digest.hexdigest(), head
    return stored


def sha256_of(upload: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := upload.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
