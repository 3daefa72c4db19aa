"""A real SFTP server on loopback for the file-channel tests: paramiko's server side in a thread,
serving one local folder, accepting one user by password or by public key."""

import os
import socket
import subprocess
import tempfile
import threading
from functools import cache
from pathlib import Path

import paramiko
from paramiko.sftp import SFTP_FAILURE, SFTP_NO_SUCH_FILE, SFTP_OK


def _errno(error: OSError) -> int:
    return SFTP_NO_SUCH_FILE if isinstance(error, FileNotFoundError) else SFTP_FAILURE


class _Handle(paramiko.SFTPHandle):
    def stat(self):
        return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))


class _Folder(paramiko.SFTPServerInterface):
    def __init__(self, server, *args, root: Path, **kwargs):
        super().__init__(server, *args, **kwargs)
        self.root = root

    def _local(self, path: str) -> Path:
        return self.root / self.canonicalize(path).lstrip("/")

    def list_folder(self, path):
        try:
            folder = self._local(path)
            found = []
            for name in os.listdir(folder):
                attributes = paramiko.SFTPAttributes.from_stat(os.stat(folder / name))
                attributes.filename = name
                found.append(attributes)
            return found
        except OSError as error:
            return _errno(error)

    def stat(self, path):
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(self._local(path)))
        except OSError as error:
            return _errno(error)

    lstat = stat

    def open(self, path, flags, attr):
        try:
            local = self._local(path)
            mode = "r+b" if flags & os.O_RDWR else "wb" if flags & os.O_WRONLY else "rb"
            if flags & os.O_CREAT and mode == "r+b" and not local.exists():
                mode = "w+b"
            handle = _Handle(flags)
            stream = open(local, mode)  # noqa: SIM115 - paramiko closes the handle
            handle.readfile = handle.writefile = stream
            return handle
        except OSError as error:
            return _errno(error)

    def rename(self, oldpath, newpath):
        try:
            if self._local(newpath).exists():
                return SFTP_FAILURE  # SFTP v3: rename never overwrites
            os.rename(self._local(oldpath), self._local(newpath))
            return SFTP_OK
        except OSError as error:
            return _errno(error)

    def mkdir(self, path, attr):
        try:
            os.mkdir(self._local(path))
            return SFTP_OK
        except OSError as error:
            return _errno(error)

    def remove(self, path):
        try:
            os.remove(self._local(path))
            return SFTP_OK
        except OSError as error:
            return _errno(error)


class _Auth(paramiko.ServerInterface):
    def __init__(self, username: str, password: str | None, public_key: paramiko.PKey | None):
        self.username, self.password, self.public_key = username, password, public_key
        self.logins: list[str] = []

    def get_allowed_auths(self, username):
        return ",".join(kind for kind, on in (("password", self.password),
                                               ("publickey", self.public_key)) if on)  # fmt: skip

    def check_auth_password(self, username, password):
        if self.password and (username, password) == (self.username, self.password):
            self.logins.append("password")
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        if self.public_key and username == self.username and key == self.public_key:
            self.logins.append("publickey")
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return (
            paramiko.OPEN_SUCCEEDED
            if kind == "session"
            else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        )


class SftpServer:
    """`with SftpServer(root, password="pw") as server:` → server.port, server.host_key_line."""

    def __init__(self, root: Path, *, username: str = "oms", password: str | None = None,
                 public_key: paramiko.PKey | None = None):  # fmt: skip
        self.root = root
        self.host_key = paramiko.Ed25519Key.from_private_key_file(_host_key_file())
        self.auth = _Auth(username, password, public_key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.transports: list[paramiko.Transport] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def host_key_line(self) -> str:
        return f"{self.host_key.get_name()} {self.host_key.get_base64()}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept(); close() alone does not
        self.listener.close()
        for transport in self.transports:
            transport.close()
        self.thread.join(timeout=5)

    def _serve(self):
        while True:
            try:
                connection, _address = self.listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(connection)
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _Folder, root=self.root)
            self.transports.append(transport)
            try:
                transport.start_server(server=self.auth)
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()


def _generate_key(prefix: str) -> str:
    """A new Ed25519 private key file without a passphrase (ssh-keygen: paramiko cannot write
    Ed25519); returns its path."""
    path = os.path.join(tempfile.mkdtemp(prefix=prefix), "id_ed25519")
    subprocess.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    return path


@cache
def _host_key_file() -> str:
    """One generated host key per test process."""
    return _generate_key("sftp-host-key-")


def generate_client_key() -> tuple[str, paramiko.PKey]:
    """A private key as a merchant pastes it (OpenSSH text) and its public half."""
    path = _generate_key("sftp-client-key-")
    return Path(path).read_text(), paramiko.Ed25519Key.from_private_key_file(path)


def other_host_key_line() -> str:
    _private, key = generate_client_key()
    return f"{key.get_name()} {key.get_base64()}"
