"""Claiming an output file before any work is done.

:class:`OutputClaim` checks an output path up front (not a folder, parent
folders creatable, writable, not one of the run's inputs, not an existing file
unless overwriting is asked for) and holds an exclusive advisory lock on it so
that a second process writing the same file is refused instead of corrupting
it. Every problem is an :class:`OutputError` (a ``ValueError``) with one line
naming the path.

The lock is ``flock`` on a hidden file beside the output (``.<name>.lock``);
the operating system drops it when the process ends, however it ends, so a
killed run never leaves a stale lock behind (the lock file may remain). The holder
writes its process id and command line into the lock file, so a refused writer can
name the process it waits for.

This is the one output guard of the command line: the trace writer holds the claim for
a whole run, and every other command that writes a file (`atomic_output`,
`output_path`) takes the same claim for the time it writes, so no command replaces or
writes into a file another process is writing, ``--force`` or not.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sys
import tempfile
from typing import IO, Callable, Iterator, Iterable, Self

from vocab.errors import UserError

__all__ = ["OutputError", "OutputClaim", "FileLock", "LockRefused", "atomic_output", "output_path", "check_output",
           "claim_files", "same_file", "check_not_input", "prepare_parent", "check_output_folder"]


class OutputError(UserError, ValueError):
    """An output path that cannot, or must not, be written."""


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True if two paths name the same file (existing: same inode; else same real path)."""
    a, b = os.fspath(a), os.fspath(b)
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_not_input(path: str | os.PathLike, inputs: Iterable[str | os.PathLike], what: str = "output") -> None:
    """Raise OutputError if ``path`` is one of ``inputs`` (never write over an input)."""
    for i in inputs:
        if i and same_file(path, i):
            raise OutputError(f"{what} {os.fspath(path)} is an input of this command ({os.fspath(i)}); "
                              "choose another file")


def _reason(e: OSError) -> str:
    return e.strerror or str(e)


# errors only a write gives: they are the output's fault, whatever the write was doing
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def _write_holder(lock: "FileLock") -> None:
    """Name this process in the lock file it holds (best effort: the lock works without it)."""
    with contextlib.suppress(OSError):
        lock.write(f"pid {os.getpid()}: {' '.join(sys.argv)[:300]}")


def _holder(fd: int) -> str:
    """" (pid N: command)" of the process holding the lock file ``fd``, or "" if unknown."""
    try:
        text = os.pread(fd, 400, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f" ({' '.join(text.split())})" if text.startswith("pid ") else ""


def prepare_parent(path: str, what: str = "output") -> str:
    """Make the parent folders of ``path``; OutputError naming the path if that is impossible."""
    parent = os.path.dirname(os.path.abspath(path))
    # a component of the parent that exists but is not a folder
    p = parent
    while p and not os.path.exists(p):
        p = os.path.dirname(p) if os.path.dirname(p) != p else ""
    if p and not os.path.isdir(p):
        raise OutputError(f"cannot write {what} {path}: {p} is a file, not a folder")
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot write {what} {path}: cannot create folder {parent} ({_reason(e)})") from None
    return parent


class LockRefused(Exception):
    """Why a `FileLock` was not taken: ``busy``, another process holds it (``holder``: who, as the
    lock's ``read_holder`` reads it from the file), else ``error`` says why the lock file could not
    be opened (``opening``) or locked."""

    def __init__(self, error: OSError, *, opening: bool = False, busy: bool = False, holder: str = "") -> None:
        super().__init__(_reason(error))
        self.error, self.opening, self.busy, self.holder = error, opening, busy, holder


class FileLock:
    """An exclusive advisory lock (``flock``, never waiting) on the lock file ``path``, created if
    missing: the one lock of `OutputClaim` and of a sweep's results folder. The operating system
    drops it when the process ends, however it ends, so no stale lock is left behind.
    ``read_holder(fd)`` reads who holds a busy lock from its file (the holder names itself with
    :meth:`write`). :class:`LockRefused` if it is not taken. Use as a context manager or call
    :meth:`release`."""

    _fd: int | None = None
    lock_path = ""

    def __init__(self, path: str | os.PathLike, *, read_holder: Callable[[int], str]) -> None:
        self.lock_path = os.fspath(path)
        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as e:
                raise LockRefused(e, opening=True) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                holder = read_holder(fd)
                os.close(fd)
                raise LockRefused(e, busy=e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES),
                                  holder=holder) from None
            # the lock file may have been removed (and re-created) by the holder we waited for
            try:
                same = os.fstat(fd).st_ino == os.stat(self.lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return
            os.close(fd)

    def write(self, text: str) -> None:
        """Replace the lock file's text (who holds it); OSError if that fails."""
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text.encode("utf-8", "replace"), 0)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Drop the lock (idempotent). The lock file is removed first, while still locked, so a
        waiting process then sees a new file."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.unlink(self.lock_path)
        except OSError:
            pass
        os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:  # pragma: no cover - safety net
        try:
            self.release()
        except Exception:
            pass


class OutputClaim(FileLock):
    """An exclusive claim on an output file (see the module doc).

    ``overwrite``: an existing file may be replaced (else OutputError).
    ``inputs``: files this run reads; the output may never be one of them.
    Use as a context manager or call :meth:`release`.
    """

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = False,
                 inputs: Iterable[str | os.PathLike] = (), what: str = "output") -> None:
        self.path = os.fspath(path)
        if not self.path:
            raise OutputError(f"{what} path is empty")
        if os.path.isdir(self.path):
            raise OutputError(f"{what} {self.path} is a folder; give a file name")
        check_not_input(self.path, inputs, what)
        parent = prepare_parent(self.path, what)
        try:
            super().__init__(os.path.join(parent, f".{os.path.basename(self.path)}.lock"), read_holder=_holder)
        except LockRefused as r:
            if r.opening:
                raise OutputError(f"cannot write {what} {self.path}: folder {parent} is not writable "
                                  f"({_reason(r.error)})") from None
            if r.busy:
                raise OutputError(f"{what} {self.path} is being written by another run{r.holder}; "
                                  "wait for it or choose another file") from None
            raise OutputError(f"cannot lock {what} {self.path}: {_reason(r.error)}") from None
        _write_holder(self)
        try:
            if os.path.lexists(self.path):
                if not overwrite:
                    raise OutputError(f"{what} {self.path} exists; give --force to overwrite it")
                if not os.access(self.path, os.W_OK) or not os.access(parent, os.W_OK):
                    raise OutputError(f"cannot write {what} {self.path}: permission denied")
            elif not os.access(parent, os.W_OK):
                raise OutputError(f"cannot write {what} {self.path}: folder {parent} is not writable")
        except BaseException:
            self.release()
            raise


def check_output_folder(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (),
                        what: str = "output folder") -> str:
    """A folder a command writes several files into: not a file, not an input, creatable and
    writable; made if missing. OutputError naming the path otherwise."""
    path = os.fspath(path)
    if not path:
        raise OutputError(f"{what} path is empty")
    if os.path.lexists(path) and not os.path.isdir(path):
        raise OutputError(f"{what} {path} is a file, not a folder; give a folder name")
    check_not_input(path, inputs, what)
    prepare_parent(os.path.join(path, "x"), what)
    if not os.access(path, os.W_OK):
        raise OutputError(f"cannot write {what} {path}: folder is not writable")
    return path


def claim_files(paths: Iterable[str | os.PathLike], *, inputs: Iterable[str | os.PathLike] = (),
                what: str = "output") -> contextlib.ExitStack:
    """`OutputClaim` (overwriting allowed) on each of ``paths``, all held until the returned
    stack is closed (use it as a context manager): for a command that writes several files
    of a folder itself. OutputError, with none held, if any is refused."""
    inputs = list(inputs)
    with contextlib.ExitStack() as stack:
        for p in paths:
            stack.enter_context(OutputClaim(p, overwrite=True, inputs=inputs, what=what))
        return stack.pop_all()


def check_output(path: str | os.PathLike, *, overwrite: bool = False, inputs: Iterable[str | os.PathLike] = (),
                 what: str = "output") -> str:
    """Check an output up front, before any work (the claim of `OutputClaim`, taken and
    dropped): OutputError naming the path if it cannot or must not be written now."""
    OutputClaim(path, overwrite=overwrite, inputs=inputs, what=what).release()
    return os.fspath(path)


@contextlib.contextmanager
def output_path(path: str | os.PathLike, *, overwrite: bool = True, inputs: Iterable[str | os.PathLike] = (),
                what: str = "output") -> Iterator[str]:
    """Write a file all at once, by name: yields a temporary path beside ``path`` (same suffix,
    so tools that pick a format by it work) to write; renamed over ``path`` when the block
    ends without error. Before anything is written the output is claimed (`OutputClaim`: the
    writer lock a running ``cosim run`` holds; not a folder, not an input, parent creatable
    and writable, an existing file only with ``overwrite``). A failed write (disk full, ...)
    is an OutputError naming ``path`` and leaves any old file as it was and no partial file."""
    path = os.fspath(path)
    with OutputClaim(path, overwrite=overwrite, inputs=inputs, what=what):
        with replaced_whole(path, what) as tmp:
            yield tmp


@contextlib.contextmanager
def replaced_whole(path: str | os.PathLike, what: str = "output") -> Iterator[str]:
    """The write half of `output_path`, for a file whose claim the caller already holds (or
    that needs none): a temporary path beside ``path`` to write, renamed over it when the
    block ends without error; a failed write is an OutputError naming ``path``, leaving any
    old file as it was and no partial file."""
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    suffix = os.path.splitext(base)[1]
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".tmp{suffix}", dir=parent)
        os.close(fd)
    except OSError as e:
        raise OutputError(f"cannot write {what} {path}: {_reason(e)}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if e.errno in _WRITE_ERRNOS or e.filename in (tmp, path):
            raise OutputError(f"cannot write {what} {path}: {_reason(e)}") from None
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (), what: str = "output",
                  mode: str = "w", encoding: str | None = "utf-8", overwrite: bool = True) -> Iterator[IO]:
    """Write a file all at once through an open file (see `output_path`: the same claim, the
    same checks): a failed write leaves any old file as it was and no partial file. Never
    writes over one of ``inputs`` nor into a file another process is writing."""
    with output_path(path, overwrite=overwrite, inputs=inputs, what=what) as tmp:
        with open(tmp, mode, encoding=encoding if "b" not in mode else None) as fh:
            yield fh
