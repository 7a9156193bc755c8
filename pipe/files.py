"""Read and write files safely in a clone anyone who can push controls, as root.

Reading (the config file, a template, the journal): only regular files, opened without blocking (a FIFO
would wait forever for a writer) and read up to a size limit (`/dev/zero` never ends); files from the
clone must not be links leading out of it, nor lie in `.git/`.

Writing (the changelog, the report, the journal, the shared storage files): the path must stay inside
its allowed root and outside any `.git/`; every folder below the root is opened without following links
(`O_NOFOLLOW`, relative to the folder above it), so a committed link cannot send a write out of the root;
the file itself must be a regular file or absent (never a link); and a whole file is written to a new
temporary file (`O_CREAT | O_EXCL | O_NOFOLLOW`, a random name: a committed `CHANGELOG.md.tmp` link is
never opened) then renamed over the target, so a reader never sees half a file. `check_output` finds
every such problem before the run writes anything.

Hand-written on purpose: pathlib and shutil follow links, and no maintained library offers
`openat`-style walking with these refusals; the os module's `dir_fd` arguments do the work.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from pipe.errors import UserError

MAX_CLONE_FILE_BYTES = 1024 * 1024  # a config file or template; far more than any real one
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a link",
    stat.S_IFDIR: "a folder",
}


class FileRefused(UserError):
    """A file the pipe would read or write is not safe to use; the message names the variable."""


# -- reading ------------------------------------------------------------------------------------------


def read_regular_file(
    path: Path, name: str, *, limit: int, follow_links: bool = True, shown: str | None = None
) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. Raises FileRefused naming `name` (and `shown`, the
    path as the user gave it, default `path`) for anything else (a folder, a FIFO, a device, a file too
    large, a link when `follow_links` is false), and FileNotFoundError / PermissionError / OSError as open()
    does."""
    subject = _subject(name, shown if shown is not None else str(path))
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:
            raise FileRefused(f"{subject} is a link; give the path of the file itself") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{subject} is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise FileRefused(f"{subject} is larger than {_size(limit)} ({_size(info.st_size)})")
        os.set_blocking(fd, True)
        file = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with file:
        data = file.read(limit + 1)  # a file growing while it is read is cut off here
    if len(data) > limit:
        raise FileRefused(f"{subject} is larger than {_size(limit)}")
    return data


def read_clone_file(
    path: Path, root: Path, name: str, *, limit: int = MAX_CLONE_FILE_BYTES, shown: str | None = None
) -> bytes:
    """The bytes of a file of the clone at `root` (`path` absolute, or relative to `root`; `shown` is how
    messages name it, default `path`). Links are followed only while they stay inside the clone; `.git/` is
    refused (it holds the remote's credentials)."""
    shown = shown if shown is not None else str(path)
    root = root.resolve()
    target = (root / path).resolve()
    subject = _subject(name, shown)
    if not target.is_relative_to(root):
        given = root / path
        where = f"a link to {str(target)!r}, outside" if given.is_symlink() or _has_link(given, root) else "outside"
        raise FileRefused(f"{subject} is {where} the repository; give a file inside it")
    if _in_git_folder(target.relative_to(root)):
        raise FileRefused(f"{subject} is inside .git/; give a file of the repository's work tree")
    # The path is resolved: no link is left in it, and one appearing now is refused rather than followed.
    return read_regular_file(target, name, limit=limit, follow_links=False, shown=shown)


def _has_link(path: Path, root: Path) -> bool:
    current = path
    while current != root and current != current.parent:
        if current.is_symlink():
            return True
        current = current.parent
    return False


# -- writing ------------------------------------------------------------------------------------------


def output_root(path: Path, clone: Path) -> Path:
    """The root a file the user names may be written in: the clone when the path is inside it (a relative
    REPORT_FILE, say), else the folder the path names (the report or storage folder, outside the clone)."""
    absolute = Path(os.path.abspath(clone / path))
    for base in (Path(os.path.abspath(clone)), clone.resolve()):
        if absolute.is_relative_to(base):
            return base
    return absolute.parent


def check_output(path: Path, root: Path, variable: str, *, create_parents: bool = False) -> None:
    """Refuse, before the run writes anything, an output path the writers below would refuse: outside
    `root`, in `.git/`, through a link, a folder or another non-regular file, a missing folder (unless
    `create_parents`), a folder the pipe cannot create files in. Raises FileRefused naming `variable`."""
    parts = _parts_inside(path, root, variable)
    with _folder(root, parts[:-1], path, variable, create=False, missing_ok=create_parents) as folder:
        if folder is None:
            return  # folders still to be made, inside the root: made (without links) when writing
        _check_target(folder, parts[-1], path, variable)
        probe = _create_temporary(folder, parts[-1], path, variable, mode=0o600)
        os.close(probe[1])
        os.unlink(probe[0], dir_fd=folder)


def write_file(
    path: Path, data: str | bytes, root: Path, variable: str, *, create_parents: bool = False, mode: int = 0o644
) -> None:
    """Write the whole file atomically: a new temporary file beside it, renamed over it. An existing file
    keeps its permission bits; a new one gets `mode`."""
    content = data.encode("utf-8") if isinstance(data, str) else data
    parts = _parts_inside(path, root, variable)
    with _folder(root, parts[:-1], path, variable, create=create_parents) as folder:
        assert folder is not None
        existing = _check_target(folder, parts[-1], path, variable)
        temporary, fd = _create_temporary(folder, parts[-1], path, variable, mode=mode)
        try:
            with os.fdopen(fd, "wb") as file:
                if existing is not None:
                    os.fchmod(file.fileno(), stat.S_IMODE(existing.st_mode))
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.rename(temporary, parts[-1], src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise


def open_for_append(path: Path, root: Path, variable: str, *, create_parents: bool = False) -> TextIO:
    """A UTF-8 text file opened for appending (created when absent), through no link; for the journal,
    which is written line by line so that a run stopped half-way leaves every finished line."""
    parts = _parts_inside(path, root, variable)
    with _folder(root, parts[:-1], path, variable, create=create_parents) as folder:
        assert folder is not None
        _check_target(folder, parts[-1], path, variable)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = _open_in(folder, parts[-1], flags, 0o644, path, variable)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise FileRefused(f"{variable}: {str(path)!r} is {_kind(info.st_mode)}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "a", encoding="utf-8")


def _parts_inside(path: Path, root: Path, variable: str) -> list[str]:
    """The components of `path` below `root` (no `..`, not `root` itself, nothing in `.git/`)."""
    absolute = Path(os.path.abspath(root / path))
    relative = None
    for base in (Path(os.path.abspath(root)), root.resolve()):
        if absolute.is_relative_to(base):
            relative = absolute.relative_to(base)
            break
    if relative is None:
        raise FileRefused(f"{variable}: {str(path)!r} is outside {str(root)!r}; give a path inside it")
    if not relative.parts:
        raise FileRefused(f"{variable}: {str(path)!r} is a folder; give the path of a file")
    if _in_git_folder(relative) or _in_git_folder(Path(os.path.abspath(root))):
        raise FileRefused(f"{variable}: {str(path)!r} is inside .git/; the pipe never writes there")
    return list(relative.parts)


def _in_git_folder(relative: Path) -> bool:
    return any(part.casefold() == ".git" for part in relative.parts)


@contextlib.contextmanager
def _folder(
    root: Path, parts: list[str], path: Path, variable: str, *, create: bool, missing_ok: bool = False
) -> Iterator[int | None]:
    """A descriptor of the folder `root/parts...`, each component opened relative to the one above it and
    never through a link. A missing folder is made when `create`, is None when `missing_ok`, else refused."""
    try:
        fd = os.open(root, _DIRECTORY_FLAGS)
    except OSError as exc:
        raise FileRefused(f"{variable}: the folder {str(root)!r} for {str(path)!r} cannot be opened ({exc})") from None
    try:
        for index, part in enumerate(parts):
            shown = os.path.join(*parts[: index + 1])
            try:
                child = os.open(part, _DIRECTORY_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                if missing_ok and not create:
                    yield None
                    return
                if not create:
                    raise FileRefused(
                        f"{variable}: the folder {shown!r} of {str(path)!r} does not exist; create it first"
                    ) from None
                os.mkdir(part, 0o755, dir_fd=fd)
                child = os.open(part, _DIRECTORY_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                kind = _kind(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode)
                raise FileRefused(
                    f"{variable}: {shown!r} in {str(path)!r} is {kind}, not a folder; the pipe does not write "
                    "through links (give the real path)"
                ) from None
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _check_target(folder: int, name: str, path: Path, variable: str) -> os.stat_result | None:
    """The file's status when it exists and is a regular file, None when absent; anything else is refused."""
    try:
        info = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise FileRefused(f"{variable}: {str(path)!r} is a link; the pipe does not write through links")
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(f"{variable}: {str(path)!r} is {_kind(info.st_mode)}; give the path of a file")
    return info


def _create_temporary(folder: int, name: str, path: Path, variable: str, *, mode: int) -> tuple[str, int]:
    """A new, empty temporary file beside `name`: (its name, a descriptor open for writing)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(10):
        temporary = f".{name[:100]}.{secrets.token_hex(6)}.tmp"
        try:
            return temporary, os.open(temporary, flags, mode, dir_fd=folder)
        except FileExistsError:
            continue  # a file of that name is there (committed, say): never reuse it, pick another name
        except OSError as exc:
            raise FileRefused(f"{variable}: cannot create files beside {str(path)!r} ({exc.strerror})") from None
    raise FileRefused(f"{variable}: cannot create a temporary file beside {str(path)!r}")


def _open_in(folder: int, name: str, flags: int, mode: int, path: Path, variable: str) -> int:
    try:
        return os.open(name, flags, mode, dir_fd=folder)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileRefused(f"{variable}: {str(path)!r} is a link; the pipe does not write through links") from None
        raise FileRefused(f"{variable}: {str(path)!r} cannot be opened for writing ({exc.strerror})") from None


def _subject(name: str, shown: str) -> str:
    """`NAME: 'path'`, or only `path:` when the name is the path (a config file named by its path)."""
    return f"{name}:" if name == shown else f"{name}: {shown!r}"


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MiB" if count >= 1024 * 1024 else f"{count} bytes"
