"""Clearing the "open for writing" flags that a killed HDF5 writer leaves in the superblock
(what HDF5's ``h5clear -s`` does), so that any HDF5 tool opens the file: the superblock's
checksum is HDF5's lookup3, recomputed here.
"""

from __future__ import annotations

import os

__all__ = ["clear_write_flags", "lookup3"]


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle`` as HDF5 uses it for metadata checksums."""
    M = 0xFFFFFFFF
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & M
    k = 0
    while length > 12:
        a = (a + int.from_bytes(data[k : k + 4], "little")) & M
        b = (b + int.from_bytes(data[k + 4 : k + 8], "little")) & M
        c = (c + int.from_bytes(data[k + 8 : k + 12], "little")) & M
        a = (a - c) & M; a ^= _rot(c, 4); c = (c + b) & M  # noqa: E702
        b = (b - a) & M; b ^= _rot(a, 6); a = (a + c) & M  # noqa: E702
        c = (c - b) & M; c ^= _rot(b, 8); b = (b + a) & M  # noqa: E702
        a = (a - c) & M; a ^= _rot(c, 16); c = (c + b) & M  # noqa: E702
        b = (b - a) & M; b ^= _rot(a, 19); a = (a + c) & M  # noqa: E702
        c = (c - b) & M; c ^= _rot(b, 4); b = (b + a) & M  # noqa: E702
        length -= 12
        k += 12
    if length == 0:
        return c
    tail = data[k:] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & M
    b = (b + int.from_bytes(tail[4:8], "little")) & M
    c = (c + int.from_bytes(tail[8:12], "little")) & M
    c ^= b; c = (c - _rot(b, 14)) & M  # noqa: E702
    a ^= c; a = (a - _rot(c, 11)) & M  # noqa: E702
    b ^= a; b = (b - _rot(a, 25)) & M  # noqa: E702
    c ^= b; c = (c - _rot(b, 16)) & M  # noqa: E702
    a ^= c; a = (a - _rot(c, 4)) & M  # noqa: E702
    b ^= a; b = (b - _rot(a, 14)) & M  # noqa: E702
    c ^= b; c = (c - _rot(b, 24)) & M  # noqa: E702
    return c


_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def clear_write_flags(path: str | os.PathLike) -> bool:
    """Clear the superblock's "open for (SWMR) writing" flags that a killed writer
    leaves, as ``h5clear -s`` does, so that any HDF5 tool opens the file.

    Returns True if flags were cleared, False if none were set. Only for a file
    whose writer is no longer running. Raises ValueError if the file is not an
    HDF5 file with a version 2 or 3 superblock at offset 0 (the traces' format).
    """
    path = os.fspath(path)
    with open(path, "r+b") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:8] != _SIGNATURE:
            raise ValueError(f"{path} is not an HDF5 file with its superblock at offset 0")
        version, size_offsets = head[8], head[9]
        if version not in (2, 3):
            raise ValueError(f"{path}: superblock version {version} has no write flags to clear")
        n = 12 + 4 * size_offsets
        fh.seek(0)
        sb = bytearray(fh.read(n + 4))
        if len(sb) != n + 4 or lookup3(bytes(sb[:n])) != int.from_bytes(sb[n:], "little"):
            raise ValueError(f"{path}: superblock checksum mismatch; not touching the file")
        if sb[11] == 0:
            return False
        sb[11] = 0
        sb[n:] = lookup3(bytes(sb[:n])).to_bytes(4, "little")
        fh.seek(0)
        fh.write(sb)
    return True
