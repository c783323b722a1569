"""The files of a gathered bundle (a `.tar.gz` with one top directory), for the tests that read one."""

from __future__ import annotations

import io
import tarfile


def bundle_texts(data: bytes) -> dict[str, str]:
    """Each regular file of the archive, by its path below the top directory, as text."""
    texts = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            handle = archive.extractfile(member)
            assert handle is not None, member.name
            texts[member.name.split("/", 1)[1]] = handle.read().decode()
    return texts
