"""Attachments: local files inside allowed directories, URLs from allowed hosts.

A notification's ``attachment`` is a rendered template, so part of it may come from
speech and is untrusted. Every refusal raises :class:`AttachmentError` whose ``reason``
is short and safe to speak; the caller sends the notification without the image.

Local files
    Only absolute paths are accepted: a relative path would depend on the working
    directory, which differs between the container, Lambda and the CLI. ``~`` is not
    expanded (so ``~/x.png`` is relative and refused). The path is resolved with
    :func:`os.path.realpath` (symlinks included) and must lie inside one of the allowed
    directories, compared with :func:`os.path.commonpath`, never by string prefix.

URLs
    Only ``http`` and ``https``, no user name or password, and only hosts in
    ``allowed_hosts``. An entry ``host`` allows that host on any port; ``host:port``
    allows that port only (the scheme's default port when the URL names none).
    Host names are compared after IDNA encoding, and the request goes to the URL
    rebuilt from the checked parts, so no other parser can read another host into it.
    Redirects are followed by hand and every target is checked the same way.

The image type always comes from the bytes, never from a file name or Content-Type.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Final
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from . import const
from .errors import AttachmentError, ConfigError

if TYPE_CHECKING:  # imported when first needed: most requests attach nothing (a Lambda cold start pays only for use)
    import requests


@dataclass(frozen=True)
class Attachment:
    """An image ready to send as the multipart ``attachment`` part."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Attachment({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


#: A snapshot must arrive well inside Alexa's ~8 s, leaving time for the Pushover call.
DEFAULT_READ_TIMEOUT_S: Final = 3.0
DEFAULT_DEADLINE_S: Final = 3.0
DEFAULT_MAX_REDIRECTS: Final = 3
#: Enough leading bytes for :func:`sniff_image_type` to decide.
SNIFF_BYTES: Final = 64
_CHUNK_BYTES = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HOST_RE = re.compile(r"^[a-z0-9_.-]+$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE_FILENAME_RE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_FILENAME_CHARS = 100

_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/tiff": "tiff",
}
_IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".gif", ".webp", ".bmp", ".heic", ".heif", ".hif", ".tif", ".tiff"}
)

#: ISO BMFF brands, https://github.com/strukturag/libheif/blob/master/libheif/heif.h (heif_brand2)
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
#: DIB header sizes a real BMP carries at offset 14 ("BM" alone is too common in text).
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})

# Reasons, short enough to speak.
_TIMEOUT = "the camera did not answer in time"
_UNREACHABLE = "the camera could not be reached"
_BAD_LINK = "the link is not valid"
_OUTSIDE = "the file is outside the allowed folders"


def sniff_image_type(data: bytes) -> str | None:
    """Content type from magic bytes: image/png, image/jpeg, image/gif, image/webp, image/bmp,
    image/heic/heif (ftyp brands), image/tiff; None otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if data.startswith(b"BM") and len(data) >= 18 and int.from_bytes(data[14:18], "little") in _BMP_DIB_SIZES:
        return "image/bmp"
    if data[4:8] == b"ftyp":
        return _sniff_ftyp(data)
    return None


def _sniff_ftyp(data: bytes) -> str | None:
    major = data[8:12]
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major not in _HEIF_BRANDS:
        return None  # mp4, mov, avif, …
    box_end = min(int.from_bytes(data[0:4], "big"), len(data))
    compatible = {data[i : i + 4] for i in range(16, box_end - 3, 4)}
    return "image/heic" if compatible & _HEIC_BRANDS else "image/heif"


def _describe_size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def _filename(raw: str, content_type: str, default_stem: str) -> str:
    """A safe multipart file name; an image suffix is added when the name lacks one."""
    name = _UNSAFE_FILENAME_RE.sub("_", raw).strip("._-")
    ext = _EXTENSIONS[content_type]
    if not name:
        return f"{default_stem}.{ext}"
    stem, suffix = os.path.splitext(name)
    if suffix.lower() not in _IMAGE_SUFFIXES:
        stem, suffix = name, f".{ext}"
    return stem[: _MAX_FILENAME_CHARS - len(suffix)] + suffix


def _normalize_host(raw: str) -> str | None:
    """The host as it is matched and sent (lowercase ASCII, IDNA-encoded), or None if invalid."""
    if not raw:
        return None
    if ":" in raw:
        if "%" in raw:  # IPv6 zone ids name an interface, not a host
            return None
        import ipaddress

        try:
            return str(ipaddress.IPv6Address(raw))
        except ValueError:
            return None
    if not raw.isascii():
        import idna

        try:
            raw = idna.encode(raw, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return None
    host = raw.lower()
    return host if _HOST_RE.match(host) else None


def parse_host_entry(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port`` or ``[v6]:port`` from the allowed-hosts setting; ConfigError if it is none."""
    text = entry.strip()
    problem = ConfigError(f"allowed attachment host {entry!r} is not a host name or host:port")
    if not text or re.search(r"[\s/@?#\\]", text):
        raise problem
    if text.count(":") > 1 and not text.startswith("["):
        text = f"[{text}]"  # a bare IPv6 address
    try:
        parts = urlsplit(f"//{text}")
        port = parts.port
    except ValueError:
        raise problem from None
    host = _normalize_host(parts.hostname or "")
    if host is None or port == 0:
        raise problem
    return host, port


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
                self._checked_url(ref)
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
        return Attachment(_filename(os.path.basename(path), content_type, "attachment"), content_type, data)

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
        target = self._checked_url(url.strip())
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
                raise AttachmentError(_BAD_LINK) from err
            with response:
                location = self._session.get_redirect_target(response)
                if location is not None:
                    target = self._checked_url(urljoin(target, location))
                    continue
                data = self._read_body(response, deadline)
            content_type = self._require_image(data, "the link did not return an image")
            name = unquote(urlsplit(target).path, errors="replace").rsplit("/", 1)[-1]
            return Attachment(_filename(name, content_type, "snapshot"), content_type, data)
        raise AttachmentError("the link redirected too many times")

    def _checked_url(self, url: str) -> str:
        """The URL to request, rebuilt from its checked parts."""
        if _CONTROL_RE.search(url):
            raise AttachmentError(_BAD_LINK)
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise AttachmentError(_BAD_LINK) from None
        if parts.scheme not in _DEFAULT_PORTS:
            raise AttachmentError("only http and https links can be attached")
        if "@" in parts.netloc:
            raise AttachmentError("the link must not contain a user name or password")
        host = _normalize_host(parts.hostname or "")
        if host is None or port == 0:
            raise AttachmentError(_BAD_LINK)
        if not self._hosts:
            raise AttachmentError("image links are not allowed; no hosts are configured")
        effective_port = port if port is not None else _DEFAULT_PORTS[parts.scheme]
        if (host, None) not in self._hosts and (host, effective_port) not in self._hosts:
            raise AttachmentError("the image host is not allowed")
        netloc = f"[{host}]" if ":" in host else host
        if port is not None:
            netloc = f"{netloc}:{port}"
        return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))

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
