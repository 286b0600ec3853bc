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

The parts: ``image`` (the type from the bytes, a safe file name), ``host`` (allowed-host entries and
the URL checked against them) and ``loader`` (``AttachmentLoader``: local files and downloads).
"""

from __future__ import annotations

from .host import parse_host_entry
from .image import SNIFF_BYTES, Attachment, sniff_image_type
from .loader import DEFAULT_DEADLINE_S, DEFAULT_MAX_REDIRECTS, DEFAULT_READ_TIMEOUT_S, AttachmentLoader

__all__ = [
    "DEFAULT_DEADLINE_S",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_READ_TIMEOUT_S",
    "SNIFF_BYTES",
    "Attachment",
    "AttachmentLoader",
    "parse_host_entry",
    "sniff_image_type",
]
