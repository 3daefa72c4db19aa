"""Where a merchant's files arrive: a drop folder on our own disk, or a folder on their SFTP
server. Both have the same small interface, so files.py reads either the same way.

SFTP: the server's host key is pinned (FileSource.host_key): any other key is refused, never
learnt; our own keys, agent and known_hosts are never used — only the source's key or password.
Files are downloaded to a local spool before they are read, so no SFTP session stays open while
records are being applied.
"""

import base64
import binascii
import fnmatch
import io
import os
import shutil
import socket
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import paramiko

from flextracker.urlguard import SFTP_PORTS, UnsafeUrl, resolve_host_checked
from ingest.models import FileSource, FileSourceKind

TIMEOUT_SECONDS = 20
SPOOL = Path(tempfile.gettempdir()) / "flextracker-files"


class FolderUnavailable(Exception):
    """The folder cannot be reached or used now (said in plain words; retried next minute)."""


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    size: int
    mtime: float


def parse_host_key(text: str) -> paramiko.PKey:
    """“ssh-ed25519 AAAA… [comment]” (a line of known_hosts without the host, or a .pub file)."""
    parts = text.split()
    if len(parts) >= 3 and not parts[0].startswith(("ssh-", "ecdsa-")):
        parts = parts[1:]  # a known_hosts line: the host first
    try:
        return paramiko.PKey.from_type_string(parts[0], base64.b64decode(parts[1], validate=True))
    except (IndexError, ValueError, binascii.Error, paramiko.SSHException) as error:
        raise ValueError(
            "Not a public key: paste the server's key as “ssh-ed25519 AAAA…” "
            "(ssh-keyscan -t ed25519 <host> prints it)."
        ) from error


def parse_private_key(text: str) -> paramiko.PKey:
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise ValueError("Not a private key we can read (OpenSSH or PEM; Ed25519, ECDSA or RSA, "
                     "without a passphrase).")  # fmt: skip


def open_folder(source: FileSource):
    if source.kind == FileSourceKind.SFTP:
        return SftpFolder(source)
    return LocalFolder(source)


def _wanted(name: str, pattern: str) -> bool:
    # Dot-files are uploads in progress by convention (".orders.csv.part") and never records.
    return not name.startswith(".") and fnmatch.fnmatchcase(name, pattern or "*")


def _unique_name(name: str, taken) -> str:
    stem, dot, suffix = name.partition(".")
    candidate, n = name, 1
    while taken(candidate):
        n += 1
        candidate = f"{stem}-{n}{dot}{suffix}"
    return candidate


class LocalFolder:
    def __init__(self, source: FileSource):
        self.source = source
        self.directory = Path(source.directory)
        if not self.directory.is_dir():
            raise FolderUnavailable(f"The folder {source.directory} does not exist.")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def list(self) -> list[Entry]:
        entries = []
        with os.scandir(self.directory) as found:
            for entry in found:
                if entry.is_file(follow_symlinks=False) and _wanted(
                    entry.name, self.source.file_pattern
                ):
                    info = entry.stat()
                    entries.append(Entry(entry.name, info.st_size, info.st_mtime))
        return sorted(entries, key=lambda e: (e.mtime, e.name))

    def fetch(self, name: str) -> Path:
        return self.directory / name

    def done_with(self, local: Path) -> None:
        return None  # the file itself: nothing to clean up

    def _free_path(self, directory: str, name: str) -> Path:
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        return target / _unique_name(name, lambda n: (target / n).exists())

    def move(self, name: str, directory: str) -> str:
        final = self._free_path(directory, name)
        shutil.move(self.directory / name, final)
        return str(final)

    def put(self, content: bytes, directory: str, name: str) -> str:
        final = self._free_path(directory, name)
        final.write_bytes(content)
        return str(final)


class SftpFolder:
    def __init__(self, source: FileSource):
        self.source = source
        self.directory = PurePosixPath(source.directory)
        self.client = paramiko.SSHClient()
        self.sftp = None
        self._connect()

    def _connect(self) -> None:
        source = self.source
        try:
            pinned = parse_host_key(source.host_key)
        except ValueError as error:
            raise FolderUnavailable(f"The pinned host key is not valid: {error}") from error
        host_name = source.host if source.port == 22 else f"[{source.host}]:{source.port}"
        self.client.get_host_keys().add(host_name, pinned.get_name(), pinned)
        self.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        credentials = {"password": source.password or None}
        try:
            address = resolve_host_checked(source.host, source.port, SFTP_PORTS)[0]
        except UnsafeUrl as unsafe:
            raise FolderUnavailable(f"Refused to connect to {source.host}: {unsafe}") from unsafe
        try:
            if source.private_key:
                credentials["pkey"] = parse_private_key(source.private_key)
            # Connected to the address the guard checked; the host key is still the name's.
            sock = socket.create_connection((str(address), source.port), TIMEOUT_SECONDS)
            self.client.connect(
                source.host, port=source.port, username=source.username, timeout=TIMEOUT_SECONDS,
                sock=sock,
                banner_timeout=TIMEOUT_SECONDS, auth_timeout=TIMEOUT_SECONDS,
                look_for_keys=False, allow_agent=False, **credentials,
            )  # fmt: skip
            self.sftp = self.client.open_sftp()
            self.sftp.get_channel().settimeout(TIMEOUT_SECONDS)
        except paramiko.BadHostKeyException as error:
            self.close()
            raise FolderUnavailable(
                f"{source.host} presented a different host key ({error.key.get_name()} "
                f"{error.key.fingerprint}) than the pinned one: refused."
            ) from error
        except paramiko.AuthenticationException as error:
            self.close()
            raise FolderUnavailable(
                f"{source.host} refused the login of {source.username}."
            ) from error
        except (TimeoutError, paramiko.SSHException, OSError, ValueError) as error:
            self.close()
            raise FolderUnavailable(
                f"Cannot connect to {source.host}:{source.port}: {error}"
            ) from error

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def _call(self, what: str, function, *args):
        try:
            return function(*args)
        except (OSError, paramiko.SSHException) as error:
            raise FolderUnavailable(f"SFTP {what} failed: {error}") from error

    def list(self) -> list[Entry]:
        found = self._call("listing", self.sftp.listdir_attr, str(self.directory))
        entries = [
            Entry(attributes.filename, attributes.st_size or 0, attributes.st_mtime or 0)
            for attributes in found
            if stat.S_ISREG(attributes.st_mode or 0)
            and _wanted(attributes.filename, self.source.file_pattern)
        ]
        return sorted(entries, key=lambda e: (e.mtime, e.name))

    def fetch(self, name: str) -> Path:
        spool = SPOOL / str(self.source.pk)
        spool.mkdir(parents=True, exist_ok=True)
        local = spool / name
        self._call("download", self.sftp.get, str(self.directory / name), str(local))
        return local

    def done_with(self, local: Path) -> None:
        local.unlink(missing_ok=True)

    def _exists(self, path: PurePosixPath) -> bool:
        try:
            self.sftp.stat(str(path))
        except OSError:
            return False
        return True

    def _free_path(self, directory: str, name: str) -> PurePosixPath:
        target = PurePosixPath(directory)
        if not self._exists(target):
            self._call("mkdir", self.sftp.mkdir, str(target))
        return target / _unique_name(name, lambda n: self._exists(target / n))

    def move(self, name: str, directory: str) -> str:
        final = self._free_path(directory, name)
        self._call("rename", self.sftp.rename, str(self.directory / name), str(final))
        return str(final)

    def put(self, content: bytes, directory: str, name: str) -> str:
        final = self._free_path(directory, name)
        self._call("upload", self.sftp.putfo, io.BytesIO(content), str(final))
        return str(final)
