"""AttachmentLoader: reads a local image inside the allowed folders or downloads one from an allowed host."""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO, Final
from urllib.parse import unquote, urljoin, urlsplit

from .. import const
from ..errors import AttachmentError
from .host import BAD_LINK, checked_url, parse_host_entry
from .image import SNIFF_BYTES, Attachment, safe_filename, sniff_image_type

if TYPE_CHECKING:  # imported when first needed: most requests attach nothing (a Lambda cold start pays only for use)
    import requests

#: A snapshot must arrive well inside Alexa's ~8 s, leaving time for the Pushover call.
DEFAULT_READ_TIMEOUT_S: Final = 3.0
DEFAULT_DEADLINE_S: Final = 3.0
DEFAULT_MAX_REDIRECTS: Final = 3
_CHUNK_BYTES = 64 * 1024
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

# Reasons, short enough to speak.
_TIMEOUT = "the camera did not answer in time"
_UNREACHABLE = "the camera could not be reached"
_OUTSIDE = "the file is outside the allowed folders"


def _describe_size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


class AttachmentLoader:
    """Loads attachment images, refusing anything outside the allowed folders and hosts.

    Build one per process; it holds an HTTP session for camera snapshots.
    """

    def __init__(
        self,
        allowed_dirs: Sequence[str] = (),
        allowed_hosts: Sequence[str] = (),
        *,
        session: requests.Session | None = None,
        connect_timeout_s: float = const.DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        deadline_s: float = DEFAULT_DEADLINE_S,
        max_bytes: int = const.MAX_ATTACHMENT_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
    ) -> None:
        if max_bytes <= 0 or max_redirects < 0:
            raise ValueError("max_bytes must be positive and max_redirects not negative")
        # Resolved once, so a relative entry means the working directory at start.
        self._dirs = tuple(os.path.realpath(d) for d in allowed_dirs if d.strip())
        self._hosts = frozenset(parse_host_entry(h) for h in allowed_hosts)
        self._owns_session = session is None
        self._session = session  # opened by the first download
        self._session_lock = threading.Lock()
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._deadline_s = deadline_s
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._too_big = f"the image is larger than {_describe_size(max_bytes)}"

    def __enter__(self) -> AttachmentLoader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session if this loader opened it."""
        if self._owns_session and self._session is not None:
            self._session.close()

    def load(self, ref: str) -> Attachment:
        """The image that ``ref`` (an http(s) URL or an absolute local path) names."""
        ref = ref.strip()
        if _is_url(ref):
            return self.fetch_url(ref)
        return self.load_path(ref)

    def check(self, ref: str) -> str | None:
        """Why ``ref`` would be refused, found without downloading anything; None if it looks fine.

        A URL is checked for scheme, user info and host only. A local file is opened and its
        first bytes are sniffed, so a missing, oversized or non-image file is reported.
        """
        ref = ref.strip()
        try:
            if _is_url(ref):
                checked_url(ref, self._hosts)
            else:
                with self._open_file(ref) as f:
                    self._require_image(f.read(SNIFF_BYTES), "the file is not an image")
        except AttachmentError as err:
            return err.reason
        return None

    # Local files

    def load_path(self, path: str) -> Attachment:
        """Read an image file that lies inside one of the allowed directories."""
        with self._open_file(path) as f:
            data = f.read(self._max_bytes + 1)
        if len(data) > self._max_bytes:  # it grew after fstat
            raise AttachmentError(self._too_big)
        content_type = self._require_image(data, "the file is not an image")
        return Attachment(safe_filename(os.path.basename(path), content_type, "attachment"), content_type, data)

    @contextmanager
    def _open_file(self, path: str) -> Iterator[BinaryIO]:
        """The opened file, after the path, type and size checks."""
        if _is_url(path):
            raise AttachmentError("only http and https links can be attached")
        if not path:
            raise AttachmentError("the attachment is empty")
        if "\x00" in path:
            raise AttachmentError("the file path contains a null character")
        if not self._dirs:
            # The person hears the README's words; the variable's name is for the log, never spoken.
            raise AttachmentError(_OUTSIDE, "no folder is allowed: set ATTACHMENT_DIRS or the map's attachment_dirs")
        if not os.path.isabs(path):
            raise AttachmentError("the file path must be absolute")
        resolved = os.path.realpath(path)
        if not self._inside(resolved):
            raise AttachmentError(_OUTSIDE)
        # O_NOFOLLOW: the last component cannot have become a symlink since realpath.
        # O_NONBLOCK: opening a FIFO must not hang the request.
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(resolved, flags)
        except (FileNotFoundError, NotADirectoryError):
            raise AttachmentError("the file does not exist") from None
        except OSError as err:
            raise AttachmentError(f"the file could not be read ({(err.strerror or 'error').lower()})") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise AttachmentError("the path is not a regular file")
            self._verify_opened(fd, resolved, st)
            if st.st_size > self._max_bytes:
                raise AttachmentError(self._too_big)
            f = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        with f:
            yield f

    def _inside(self, resolved: str) -> bool:
        return any(os.path.commonpath((resolved, d)) == d for d in self._dirs)

    def _verify_opened(self, fd: int, resolved: str, st: os.stat_result) -> None:
        """Close the window between realpath and open, in which a directory could become a link."""
        try:
            opened = os.readlink(f"/proc/self/fd/{fd}")  # Linux: the path the kernel opened
        except OSError:
            opened = None
        if opened is not None:
            if not self._inside(opened):
                raise AttachmentError(_OUTSIDE)
            return
        try:
            now = os.stat(resolved)
        except OSError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            raise AttachmentError("the file changed while it was opened")

    # URLs

    def fetch_url(self, url: str) -> Attachment:
        """Download a snapshot from an allowed host, within the size cap and the deadline."""
        import requests

        deadline = time.monotonic() + self._deadline_s
        target = checked_url(url.strip(), self._hosts)
        with self._session_lock:
            if self._session is None:
                self._session = requests.Session()
        for _hop in range(self._max_redirects + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AttachmentError(_TIMEOUT)
            timeout = (min(self._timeout[0], remaining), min(self._timeout[1], remaining))
            try:
                response = self._session.get(
                    target,
                    stream=True,
                    allow_redirects=False,
                    timeout=timeout,
                    headers={"Accept": "image/*", "Accept-Encoding": "identity"},
                )
            except requests.Timeout as err:
                raise AttachmentError(_TIMEOUT) from err
            except requests.exceptions.SSLError as err:
                raise AttachmentError("the secure connection to the camera failed") from err
            except requests.ConnectionError as err:
                raise AttachmentError(_UNREACHABLE) from err
            except requests.RequestException as err:
                raise AttachmentError(BAD_LINK) from err
            with response:
                location = self._session.get_redirect_target(response)
                if location is not None:
                    target = checked_url(urljoin(target, location), self._hosts)
                    continue
                data = self._read_body(response, deadline)
            content_type = self._require_image(data, "the link did not return an image")
            name = unquote(urlsplit(target).path, errors="replace").rsplit("/", 1)[-1]
            return Attachment(safe_filename(name, content_type, "snapshot"), content_type, data)
        raise AttachmentError("the link redirected too many times")

    def _read_body(self, response: requests.Response, deadline: float) -> bytes:
        import urllib3

        status = response.status_code
        if status >= 400:
            raise AttachmentError(f"the camera answered with error {status}")
        if not 200 <= status < 300:
            raise AttachmentError(f"the camera answered with status {status}")
        try:
            declared = int(response.headers.get("Content-Length", ""))
        except ValueError:
            declared = None
        if declared is not None and declared > self._max_bytes:
            raise AttachmentError(self._too_big)
        chunks: list[bytes] = []
        total = 0
        sniffed = False
        try:
            while True:
                if time.monotonic() > deadline:
                    raise AttachmentError(_TIMEOUT)
                # read1 returns what one socket read brings, so a server that drips bytes
                # cannot hold us past the deadline by more than one read timeout.
                chunk = response.raw.read1(_CHUNK_BYTES, decode_content=False)
                if not chunk:
                    break
                total += len(chunk)
                if total > self._max_bytes:
                    raise AttachmentError(self._too_big)
                chunks.append(chunk)
                if not sniffed and total >= SNIFF_BYTES:
                    # An MJPEG stream or an error page is refused now, not after 5 MB.
                    self._require_image(b"".join(chunks), "the link did not return an image")
                    sniffed = True
        except urllib3.exceptions.ReadTimeoutError as err:
            raise AttachmentError(_TIMEOUT) from err
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise AttachmentError("the image download was cut off") from err
        return b"".join(chunks)

    @staticmethod
    def _require_image(data: bytes, reason: str) -> str:
        content_type = sniff_image_type(data)
        if content_type is None:
            raise AttachmentError(reason)
        return content_type


def _is_url(ref: str) -> bool:
    """True for anything with a scheme (``http:``, ``file:``, ``data:``…); a path starts with ``/``."""
    return bool(_SCHEME_RE.match(ref))
