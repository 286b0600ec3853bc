"""Tests for skill.attachments: real files in tmp_path, a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from skill import const
from skill.attachments import Attachment, AttachmentLoader, sniff_image_type
from skill.errors import AttachmentError, ConfigError
from tests.camera import (
    JPEG,
    PNG,
    CameraServer,
    Route,
    declared_too_big,
    drip,
    image,
    late_headers,
    redirect,
    stream,
)

GIF = b"GIF89a\x01\x00\x01\x00" + bytes(64)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(64)
BMP = b"BM" + bytes(12) + (40).to_bytes(4, "little") + bytes(64)
TIFF_LE = b"II*\x00\x08\x00\x00\x00" + bytes(64)
TIFF_BE = b"MM\x00*\x00\x00\x00\x08" + bytes(64)
HEIC = (24).to_bytes(4, "big") + b"ftypheic" + bytes(4) + b"mif1heic" + bytes(64)
HEIF = (24).to_bytes(4, "big") + b"ftypmif1" + bytes(4) + b"mif1miaf" + bytes(64)
HEIF_HEIC_COMPATIBLE = (24).to_bytes(4, "big") + b"ftypmif1" + bytes(4) + b"mif1heic" + bytes(64)
MP4 = (24).to_bytes(4, "big") + b"ftypisom" + bytes(4) + b"isomiso2" + bytes(64)
AVIF = (24).to_bytes(4, "big") + b"ftypavif" + bytes(4) + b"avifmif1" + bytes(64)
HTML = b"<!doctype html><html><body>Login required</body></html>" + b" " * 64

REASON_TIMEOUT = "the camera did not answer in time"
REASON_HOST = "the image host is not allowed"
REASON_SCHEME = "only http and https links can be attached"
REASON_USERINFO = "the link must not contain a user name or password"
REASON_OUTSIDE = "the file is outside the allowed folders"
REASON_NOT_IMAGE_URL = "the link did not return an image"


@pytest.fixture
def make_loader() -> Iterator[Callable[..., AttachmentLoader]]:
    loaders: list[AttachmentLoader] = []

    def make(dirs: object = (), hosts: object = (), **kwargs: object) -> AttachmentLoader:
        loader = AttachmentLoader(dirs, hosts, **kwargs)  # type: ignore[arg-type]
        loaders.append(loader)
        return loader

    yield make
    for loader in loaders:
        loader.close()


# ---------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF87a" + bytes(10), "image/gif"),
        (GIF, "image/gif"),
        (WEBP, "image/webp"),
        (BMP, "image/bmp"),
        (TIFF_LE, "image/tiff"),
        (TIFF_BE, "image/tiff"),
        (HEIC, "image/heic"),
        (HEIF, "image/heif"),
        (HEIF_HEIC_COMPATIBLE, "image/heic"),
        (MP4, None),
        (AVIF, None),
        (HTML, None),
        (b"BM is how this text starts, not a bitmap", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"%PDF-1.7\n", None),
        (b"\x89PN", None),
        (b"", None),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_sniff_image_type(data: bytes, expected: str | None) -> None:
    assert sniff_image_type(data) == expected


# ---------------------------------------------------------------- local files


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/allowed with images, a text file, a folder, links in and out, a FIFO; tmp/secret.png outside."""
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (allowed / "a.png").write_bytes(PNG)
    (allowed / "b.jpg").write_bytes(JPEG)
    (allowed / "c.gif").write_bytes(GIF)
    (allowed / "d.webp").write_bytes(WEBP)
    (allowed / "latest").write_bytes(JPEG)
    (allowed / "notes.txt").write_bytes(b"hello, not an image")
    (allowed / "empty.png").write_bytes(b"")
    (allowed / "link-in.png").symlink_to(allowed / "a.png")
    (allowed / "link-out.png").symlink_to(tmp_path / "secret.png")
    (allowed / "loop1").symlink_to(allowed / "loop2")
    (allowed / "loop2").symlink_to(allowed / "loop1")
    os.mkfifo(allowed / "fifo")
    (tmp_path / "secret.png").write_bytes(PNG)
    (tmp_path / "allowed-evil").mkdir()
    (tmp_path / "allowed-evil" / "x.png").write_bytes(PNG)
    return tmp_path


@pytest.mark.parametrize(
    ("rel", "filename", "content_type", "data"),
    [
        ("allowed/a.png", "a.png", "image/png", PNG),
        ("allowed/b.jpg", "b.jpg", "image/jpeg", JPEG),
        ("allowed/c.gif", "c.gif", "image/gif", GIF),
        ("allowed/d.webp", "d.webp", "image/webp", WEBP),
        ("allowed/latest", "latest.jpg", "image/jpeg", JPEG),
        ("allowed/link-in.png", "link-in.png", "image/png", PNG),
        ("allowed/sub/../a.png", "a.png", "image/png", PNG),
        ("allowed//./a.png", "a.png", "image/png", PNG),
    ],
)
def test_load_path_reads_an_allowed_image(
    tree: Path, make_loader: Callable[..., AttachmentLoader], rel: str, filename: str, content_type: str, data: bytes
) -> None:
    loader = make_loader([str(tree / "allowed")])
    attachment = loader.load_path(f"{tree}/{rel}")
    assert attachment == Attachment(filename, content_type, data)
    assert loader.load(f"{tree}/{rel}") == attachment


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        # What a template like "/srv/cams/{{ Camera }}.png" makes of a hostile slot value.
        ("{tmp}/allowed/../secret.png", REASON_OUTSIDE),
        ("{tmp}/allowed/../../../../../../etc/passwd", REASON_OUTSIDE),
        ("{tmp}/allowed/sub/../../secret.png", REASON_OUTSIDE),
        ("{tmp}/secret.png", REASON_OUTSIDE),
        ("/etc/passwd", REASON_OUTSIDE),
        ("{tmp}/allowed/link-out.png", REASON_OUTSIDE),
        ("{tmp}/allowed-evil/x.png", REASON_OUTSIDE),
        ("{tmp}/allowed/missing.png", "the file does not exist"),
        ("{tmp}/allowed/a.png/x.png", "the file does not exist"),
        ("{tmp}/allowed/sub", "the path is not a regular file"),
        ("{tmp}/allowed/fifo", "the path is not a regular file"),
        ("{tmp}/allowed/loop1", "the file could not be read (too many levels of symbolic links)"),
        ("{tmp}/allowed/notes.txt", "the file is not an image"),
        ("{tmp}/allowed/empty.png", "the file is not an image"),
        ("{tmp}/allowed/a\x00.png", "the file path contains a null character"),
        ("a.png", "the file path must be absolute"),
        ("./allowed/a.png", "the file path must be absolute"),
        ("~/a.png", "the file path must be absolute"),
        ("", "the attachment is empty"),
    ],
)
def test_load_path_refuses(tree: Path, make_loader: Callable[..., AttachmentLoader], ref: str, reason: str) -> None:
    loader = make_loader([str(tree / "allowed")])
    path = ref.format(tmp=tree)
    with pytest.raises(AttachmentError) as excinfo:
        loader.load_path(path)
    assert excinfo.value.reason == reason
    with pytest.raises(AttachmentError) as excinfo:
        loader.load(path)
    assert excinfo.value.reason == reason


def test_relative_path_is_refused_even_inside_the_allowed_folder(
    tree: Path, make_loader: Callable[..., AttachmentLoader], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree / "allowed")
    loader = make_loader([str(tree / "allowed")])
    with pytest.raises(AttachmentError, match="must be absolute"):
        loader.load("a.png")


@pytest.mark.parametrize("dirs", [(), ("",), ("  ",)])
def test_no_allowed_dirs_refuses_every_file(
    tree: Path, make_loader: Callable[..., AttachmentLoader], dirs: tuple[str, ...]
) -> None:
    loader = make_loader(dirs)
    with pytest.raises(AttachmentError) as excinfo:
        loader.load(str(tree / "allowed" / "a.png"))
    assert excinfo.value.reason == "the file is outside the allowed folders"
    assert "ATTACHMENT_DIRS" in str(excinfo.value)


@pytest.mark.parametrize("via", ["link", "real"])
def test_allowed_dir_may_itself_be_a_symlink(
    tmp_path: Path, make_loader: Callable[..., AttachmentLoader], via: str
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.png").write_bytes(PNG)
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    loader = make_loader([f"{tmp_path}/link/"])
    assert loader.load(f"{tmp_path}/{via}/a.png") == Attachment("a.png", "image/png", PNG)


def test_any_of_several_allowed_dirs(tree: Path, make_loader: Callable[..., AttachmentLoader]) -> None:
    loader = make_loader([str(tree / "nowhere"), str(tree / "allowed-evil")])
    assert loader.load(str(tree / "allowed-evil" / "x.png")).content_type == "image/png"
    with pytest.raises(AttachmentError, match="outside the allowed folders"):
        loader.load(str(tree / "allowed" / "a.png"))


@pytest.mark.parametrize(("size", "ok"), [(99, True), (100, True), (101, False)])
def test_file_size_cap(tmp_path: Path, make_loader: Callable[..., AttachmentLoader], size: int, ok: bool) -> None:
    data = PNG[:size].ljust(size, b"\x00")
    (tmp_path / "a.png").write_bytes(data)
    loader = make_loader([str(tmp_path)], max_bytes=100)
    if ok:
        assert loader.load(str(tmp_path / "a.png")).data == data
    else:
        with pytest.raises(AttachmentError) as excinfo:
            loader.load(str(tmp_path / "a.png"))
        assert excinfo.value.reason == "the image is larger than 100 bytes"


@pytest.mark.parametrize(("extra", "ok"), [(0, True), (1, False)])
def test_pushover_cap_boundary(
    tmp_path: Path, make_loader: Callable[..., AttachmentLoader], extra: int, ok: bool
) -> None:
    data = PNG.ljust(const.MAX_ATTACHMENT_BYTES + extra, b"\x00")
    (tmp_path / "big.png").write_bytes(data)
    loader = make_loader([str(tmp_path)])
    if ok:
        assert len(loader.load(str(tmp_path / "big.png")).data) == const.MAX_ATTACHMENT_BYTES
    else:
        with pytest.raises(AttachmentError) as excinfo:
            loader.load(str(tmp_path / "big.png"))
        assert excinfo.value.reason == "the image is larger than 5 MB"


def test_load_strips_whitespace_around_a_rendered_ref(tree: Path, make_loader: Callable[..., AttachmentLoader]) -> None:
    loader = make_loader([str(tree / "allowed")])
    assert loader.load(f"  {tree}/allowed/a.png\n").filename == "a.png"


def test_attachment_repr_hides_the_bytes() -> None:
    assert repr(Attachment("a.png", "image/png", PNG)) == f"Attachment('a.png', 'image/png', {len(PNG)} bytes)"


# ---------------------------------------------------------------- a camera on 127.0.0.1 (tests/camera.py)


@pytest.fixture
def camera(cameras: Callable[[], CameraServer]) -> CameraServer:
    return cameras()


@pytest.fixture
def other(cameras: Callable[[], CameraServer]) -> CameraServer:
    return cameras()


@pytest.mark.parametrize(
    ("path", "body", "served_as", "filename", "content_type"),
    [
        ("/snap.png", PNG, "image/png", "snap.png", "image/png"),
        ("/snap.jpg", JPEG, "image/jpeg", "snap.jpg", "image/jpeg"),
        ("/cgi-bin/snapshot.cgi", JPEG, "image/jpeg", "snapshot.cgi.jpg", "image/jpeg"),
        ("/", JPEG, "image/jpeg", "snapshot.jpg", "image/jpeg"),
        ("/cams/front%20door.png", PNG, "image/png", "front_door.png", "image/png"),
        ("/.hidden.gif", GIF, "image/gif", "hidden.gif", "image/gif"),
        # The bytes decide the type, not the Content-Type or the name.
        ("/wrong.jpg", PNG, "text/html", "wrong.jpg", "image/png"),
    ],
)
def test_fetch_url_from_an_allowed_host(
    camera: CameraServer,
    make_loader: Callable[..., AttachmentLoader],
    path: str,
    body: bytes,
    served_as: str,
    filename: str,
    content_type: str,
) -> None:
    camera.routes[urlsplit(path).path] = image(body, served_as)
    loader = make_loader(hosts=[camera.host])
    assert loader.load(camera.url(path + "?channel=1")) == Attachment(filename, content_type, body)
    assert len(camera.hits) == 1


@pytest.mark.parametrize(
    "ref",
    [
        "http://127.0.0.1:{port}/a.png",
        "HTTP://127.0.0.1:{port}/a.png",
        "  http://127.0.0.1:{port}/a.png#fragment\n",
    ],
)
@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.1:{port}"])
def test_host_entries_with_and_without_port(
    camera: CameraServer, make_loader: Callable[..., AttachmentLoader], ref: str, entry: str
) -> None:
    camera.routes["/a.png"] = image()
    loader = make_loader(hosts=[entry.format(port=camera.port)])
    assert loader.load(ref.format(port=camera.port)).data == PNG


@pytest.mark.parametrize(
    ("ref", "hosts", "reason"),
    [
        # "localhost" reaches the same server, but it is not the allowed host string.
        ("http://localhost:{port}/a.png", ["127.0.0.1:{port}"], REASON_HOST),
        ("http://127.0.0.1:{port}/a.png", ["127.0.0.1:1"], REASON_HOST),
        ("http://127.0.0.1:{port}/a.png", ["localhost"], REASON_HOST),
        ("http://127.0.0.1:{port}/a.png", [], "image links are not allowed; no hosts are configured"),
        ("http://user@127.0.0.1:{port}/a.png", ["127.0.0.1"], REASON_USERINFO),
        ("http://user:secret@127.0.0.1:{port}/a.png", ["127.0.0.1"], REASON_USERINFO),
        ("http://127.0.0.1:{port}@evil.example/a.png", ["127.0.0.1"], REASON_USERINFO),
        ("http://127.0.0.1\\@evil.example:{port}/a.png", ["127.0.0.1"], REASON_USERINFO),
        ("http://127.0.0.1:{port}\\.evil.example/a.png", ["127.0.0.1"], "the link is not valid"),
        ("http://127.0.0.1:{port}/a\n.png", ["127.0.0.1"], "the link is not valid"),
        ("http://127.0.0.1:0/a.png", ["127.0.0.1"], "the link is not valid"),
        ("http://127.0.0.1:99999/a.png", ["127.0.0.1"], "the link is not valid"),
        ("http:///a.png", ["127.0.0.1"], "the link is not valid"),
        ("file:///etc/passwd", ["127.0.0.1"], REASON_SCHEME),
        ("file://127.0.0.1/etc/passwd", ["127.0.0.1"], REASON_SCHEME),
        ("ftp://127.0.0.1:{port}/a.png", ["127.0.0.1"], REASON_SCHEME),
        ("data:image/png;base64,iVBORw0KGgo=", ["127.0.0.1"], REASON_SCHEME),
        ("gopher://127.0.0.1:{port}/", ["127.0.0.1"], REASON_SCHEME),
    ],
)
def test_refused_urls_never_reach_the_network(
    camera: CameraServer, make_loader: Callable[..., AttachmentLoader], ref: str, hosts: list[str], reason: str
) -> None:
    camera.routes["/a.png"] = image()
    loader = make_loader(hosts=[h.format(port=camera.port) for h in hosts])
    url = ref.format(port=camera.port)
    with pytest.raises(AttachmentError) as excinfo:
        loader.load(url)
    assert excinfo.value.reason == reason
    assert loader.check(url) == reason
    assert camera.hits == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("absolute", [False, True])
def test_redirect_within_the_allowed_host(
    camera: CameraServer, make_loader: Callable[..., AttachmentLoader], status: int, absolute: bool
) -> None:
    camera.routes["/latest"] = redirect(camera.url("/img/b.jpg") if absolute else "img/b.jpg", status)
    camera.routes["/img/b.jpg"] = image(JPEG, "image/jpeg")
    loader = make_loader(hosts=[camera.host])
    assert loader.load(camera.url("/latest")) == Attachment("b.jpg", "image/jpeg", JPEG)
    assert camera.hits == ["/latest", "/img/b.jpg"]


@pytest.mark.parametrize(
    ("target", "hosts", "reason"),
    [
        ("http://localhost:{other}/x.png", ["127.0.0.1:{camera}", "127.0.0.1:{other}"], REASON_HOST),
        ("http://127.0.0.1:{other}/x.png", ["127.0.0.1:{camera}"], REASON_HOST),
        ("http://user@127.0.0.1:{other}/x.png", ["127.0.0.1"], REASON_USERINFO),
        ("https://localhost:{other}/x.png", ["127.0.0.1"], REASON_HOST),
        ("file:///etc/passwd", ["127.0.0.1"], REASON_SCHEME),
    ],
)
def test_redirect_off_the_allowed_hosts_is_refused(
    camera: CameraServer,
    other: CameraServer,
    make_loader: Callable[..., AttachmentLoader],
    target: str,
    hosts: list[str],
    reason: str,
) -> None:
    ports = {"camera": camera.port, "other": other.port}
    camera.routes["/latest"] = redirect(target.format(**ports))
    other.routes["/x.png"] = image()
    loader = make_loader(hosts=[h.format(**ports) for h in hosts])
    with pytest.raises(AttachmentError) as excinfo:
        loader.load(camera.url("/latest"))
    assert excinfo.value.reason == reason
    assert camera.hits == ["/latest"]
    assert other.hits == []


def test_redirect_to_another_allowed_host(
    camera: CameraServer, other: CameraServer, make_loader: Callable[..., AttachmentLoader]
) -> None:
    camera.routes["/latest"] = redirect(other.url("/x.png"))
    other.routes["/x.png"] = image()
    loader = make_loader(hosts=[camera.host, other.host])
    assert loader.load(camera.url("/latest")).data == PNG
    assert other.hits == ["/x.png"]


@pytest.mark.parametrize(("max_redirects", "ok"), [(0, False), (3, False), (4, True)])
def test_redirect_limit(
    camera: CameraServer, make_loader: Callable[..., AttachmentLoader], max_redirects: int, ok: bool
) -> None:
    for i in range(4):
        camera.routes[f"/r{i}"] = redirect(f"/r{i + 1}")
    camera.routes["/r4"] = image()
    loader = make_loader(hosts=[camera.host], max_redirects=max_redirects)
    if ok:
        assert loader.load(camera.url("/r0")).data == PNG
    else:
        with pytest.raises(AttachmentError) as excinfo:
            loader.load(camera.url("/r0"))
        assert excinfo.value.reason == "the link redirected too many times"
        assert camera.hits == [f"/r{i}" for i in range(max_redirects + 1)]


def test_redirect_loop(camera: CameraServer, make_loader: Callable[..., AttachmentLoader]) -> None:
    camera.routes["/loop"] = redirect("/loop")
    loader = make_loader(hosts=[camera.host])
    with pytest.raises(AttachmentError, match="redirected too many times"):
        loader.load(camera.url("/loop"))
    assert len(camera.hits) == 4


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (lambda h: h.reply(404, b"no such camera", "text/plain"), "the camera answered with error 404"),
        (lambda h: h.reply(401, b"", "text/plain"), "the camera answered with error 401"),
        (lambda h: h.reply(500, PNG, "image/png"), "the camera answered with error 500"),
        (lambda h: h.reply(302, b"", "text/plain"), "the camera answered with status 302"),
        (lambda h: h.reply(204, b"", "image/png"), REASON_NOT_IMAGE_URL),
        (image(HTML, "image/jpeg"), REASON_NOT_IMAGE_URL),
        (image(b"short", "image/jpeg"), REASON_NOT_IMAGE_URL),
        (image(MP4, "image/heic"), REASON_NOT_IMAGE_URL),
        (lambda h: h.reply(200, PNG[:20], length=len(PNG)), "the image download was cut off"),
    ],
    ids=["404", "401", "500", "302-without-location", "204", "html", "short", "mp4", "truncated"],
)
def test_camera_answers_that_are_refused(
    camera: CameraServer, make_loader: Callable[..., AttachmentLoader], route: Route, reason: str
) -> None:
    camera.routes["/snap"] = route
    loader = make_loader(hosts=[camera.host])
    with pytest.raises(AttachmentError) as excinfo:
        loader.load(camera.url("/snap"))
    assert excinfo.value.reason == reason


CAP = 100_000


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize(("size", "ok"), [(CAP - 1, True), (CAP, True), (CAP + 1, False)])
def test_streamed_size_cap(
    camera: CameraServer, make_loader: Callable[..., AttachmentLoader], chunked: bool, size: int, ok: bool
) -> None:
    camera.routes["/snap"] = stream(JPEG, size, chunked=chunked)
    loader = make_loader(hosts=[camera.host], max_bytes=CAP)
    if ok:
        attachment = loader.load(camera.url("/snap"))
        assert (attachment.content_type, len(attachment.data)) == ("image/jpeg", size)
    else:
        with pytest.raises(AttachmentError) as excinfo:
            loader.load(camera.url("/snap"))
        assert excinfo.value.reason == f"the image is larger than {CAP} bytes"


@pytest.mark.parametrize("chunked", [False, True])
def test_endless_stream_is_cut_off_at_the_cap(
    camera: CameraServer, make_loader: Callable[..., AttachmentLoader], chunked: bool
) -> None:
    endless = 512 * 1024 * 1024
    camera.routes["/snap"] = stream(JPEG, endless, chunked=chunked)
    loader = make_loader(hosts=[camera.host], max_bytes=CAP, deadline_s=10)
    with pytest.raises(AttachmentError) as excinfo:
        loader.load(camera.url("/snap"))
    assert excinfo.value.reason == f"the image is larger than {CAP} bytes"
    assert camera.stream_done.wait(10)
    # The client hung up: what the server got out is the cap plus socket buffers, not the stream.
    assert camera.streamed < endless // 8


def test_endless_non_image_stream_is_refused_at_once(
    camera: CameraServer, make_loader: Callable[..., AttachmentLoader]
) -> None:
    mjpeg = b"--frame\r\nContent-Type: image/jpeg\r\n\r\n" + JPEG
    camera.routes["/video"] = stream(mjpeg, 512 * 1024 * 1024, chunked=True)
    loader = make_loader(hosts=[camera.host], deadline_s=10)
    with pytest.raises(AttachmentError) as excinfo:
        loader.load(camera.url("/video"))
    assert excinfo.value.reason == REASON_NOT_IMAGE_URL
    assert camera.stream_done.wait(10)


def test_content_length_over_the_cap_is_refused_before_reading(
    camera: CameraServer, make_loader: Callable[..., AttachmentLoader]
) -> None:
    camera.routes["/snap"] = declared_too_big
    loader = make_loader(hosts=[camera.host], read_timeout_s=2, deadline_s=5)
    with pytest.raises(AttachmentError) as excinfo:
        loader.load(camera.url("/snap"))
    # The body never comes: a loader that read before it checked would end in a timeout, not this.
    assert excinfo.value.reason == "the image is larger than 5 MB"


@pytest.mark.parametrize(
    ("route", "read_timeout_s", "deadline_s"),
    [
        (late_headers, 0.3, 5.0),  # the read timeout fires (waiting, the loader would get the picture at 2 s)
        (late_headers, 5.0, 0.3),  # the deadline shortens the read timeout (likewise)
        (drip, 2.0, 0.4),  # every byte is in time, the whole is not (it would be complete after 3.75 s)
    ],
    ids=["late-headers-read-timeout", "late-headers-deadline", "drip-deadline"],
)
def test_slow_camera_is_refused_within_the_deadline(
    camera: CameraServer,
    make_loader: Callable[..., AttachmentLoader],
    route: Route,
    read_timeout_s: float,
    deadline_s: float,
) -> None:
    camera.routes["/snap"] = route
    loader = make_loader(hosts=[camera.host], read_timeout_s=read_timeout_s, deadline_s=deadline_s)
    with pytest.raises(AttachmentError) as excinfo:
        loader.load(camera.url("/snap"))
    assert excinfo.value.reason == REASON_TIMEOUT


def test_closed_port(make_loader: Callable[..., AttachmentLoader]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    loader = make_loader(hosts=["127.0.0.1"])
    with pytest.raises(AttachmentError) as excinfo:
        loader.load(f"http://127.0.0.1:{port}/a.png")
    assert excinfo.value.reason == "the camera could not be reached"


def test_https_to_a_plain_http_camera(camera: CameraServer, make_loader: Callable[..., AttachmentLoader]) -> None:
    loader = make_loader(hosts=[camera.host])
    with pytest.raises(AttachmentError) as excinfo:
        loader.load(f"https://{camera.host}/a.png")
    assert excinfo.value.reason == "the secure connection to the camera failed"


# ---------------------------------------------------------------- check() and configuration


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("{tmp}/allowed/a.png", None),
        ("{tmp}/allowed/link-in.png", None),
        ("{tmp}/allowed/missing.png", "the file does not exist"),
        ("{tmp}/allowed/../secret.png", REASON_OUTSIDE),
        ("{tmp}/allowed/link-out.png", REASON_OUTSIDE),
        ("{tmp}/allowed/notes.txt", "the file is not an image"),
        ("{tmp}/allowed/big.png", "the image is larger than 200 bytes"),
        ("{tmp}/allowed/sub", "the path is not a regular file"),
        ("relative.png", "the file path must be absolute"),
        ("http://127.0.0.1:{port}/a.png", None),
        ("http://127.0.0.1:{port}/missing-but-not-fetched.png", None),
        ("http://localhost:{port}/a.png", REASON_HOST),
        ("http://user@127.0.0.1:{port}/a.png", REASON_USERINFO),
        ("ftp://127.0.0.1:{port}/a.png", REASON_SCHEME),
        ("file://{tmp}/allowed/a.png", REASON_SCHEME),
    ],
)
def test_check_literal_refs_without_downloading(
    tree: Path, camera: CameraServer, make_loader: Callable[..., AttachmentLoader], ref: str, reason: str | None
) -> None:
    (tree / "allowed" / "big.png").write_bytes(PNG.ljust(201, b"\x00"))
    camera.routes["/a.png"] = image()
    loader = make_loader([str(tree / "allowed")], [camera.host], max_bytes=200)
    assert loader.check(ref.format(tmp=tree, port=camera.port)) == reason
    assert camera.hits == []


@pytest.mark.parametrize(
    ("entry", "url", "allowed"),
    [
        ("CAM.lan", "http://cam.LAN/snap.jpg", True),
        ("cam.lan", "https://cam.lan:8443/snap.jpg", True),
        ("cam.lan:80", "http://cam.lan/snap.jpg", True),
        ("cam.lan:80", "https://cam.lan/snap.jpg", False),
        ("cam.lan:8080", "http://cam.lan/snap.jpg", False),
        ("cam.lan", "http://cam.lan.evil.example/snap.jpg", False),
        ("cam.lan", "http://evil.example/cam.lan/snap.jpg", False),
        ("kamera.例え.jp", "http://kamera.xn--r8jz45g.jp/snap.jpg", True),
        ("kamera.xn--r8jz45g.jp", "http://KAMERA.例え.jp/snap.jpg", True),
        ("[::1]:8080", "http://[0:0::1]:8080/snap.jpg", True),
        ("::1", "http://[::1]/snap.jpg", True),
        ("::1", "http://[::2]/snap.jpg", False),
        ("192.168.1.20", "http://192.168.1.20/snap.jpg", True),
        ("192.168.1.20", "http://192.168.1.2/snap.jpg", False),
    ],
)
def test_allowed_host_matching(
    make_loader: Callable[..., AttachmentLoader], entry: str, url: str, allowed: bool
) -> None:
    reason = make_loader(hosts=[entry]).check(url)
    assert reason == (None if allowed else REASON_HOST)


@pytest.mark.parametrize(
    "entry", ["", " ", "http://cam.lan", "user@cam.lan", "cam.lan/snap", "cam.lan:http", "cam.lan:0", "cam lan"]
)
def test_bad_allowed_host_entry_is_a_config_error(entry: str) -> None:
    with pytest.raises(ConfigError, match="is not a host name or host:port"):
        AttachmentLoader(allowed_hosts=[entry])


def test_close_leaves_a_given_session_open(camera: CameraServer) -> None:
    class CountingSession(requests.Session):
        closed = 0

        def close(self) -> None:
            self.closed += 1
            super().close()

    camera.routes["/a.png"] = image()
    with CountingSession() as session:
        with AttachmentLoader(allowed_hosts=[camera.host], session=session) as loader:
            assert loader.load(camera.url("/a.png")).data == PNG
        assert session.closed == 0
    assert session.closed == 1
