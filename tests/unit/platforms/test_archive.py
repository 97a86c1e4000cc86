"""The shared zip reader of ``audit --platform`` (sopgate/platforms/archive.py): which
members are records, and archives that lie about themselves."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from sopgate.errors import PlatformError
from sopgate.platforms.archive import Labels, records_in_zip, require_safe_blob_url


def archive(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as out:
        for name, content in members.items():
            out.writestr(name, content)
    return buffer.getvalue()


def test_each_folder_with_a_report_is_one_record_with_its_attestation() -> None:
    data = archive(
        {
            "sopgate-report.json": b"{}",
            "sopgate-attestation.json": b"[1]",
            "eu\\sopgate-report.json": b'{"eu": 1}',  # a Windows path separator
            "us/deep/sopgate-report.json": b'{"us": 1}',
            "us/deep/sopgate-attestation.dsse.json": b"[2]",
            "orphan/sopgate-attestation.json": b"[3]",  # no report beside it: ignored
            "sopgate-report.md": b"# not read",
        }
    )
    found = records_in_zip(data, what="the artifact a", label="a", labels=Labels())
    assert [(r.label, r.source, dict(r.files)) for r in found] == [
        (
            "a",
            "the artifact a",
            {"sopgate-report.json": b"{}", "sopgate-attestation.json": b"[1]"},
        ),
        ("a-2", "the artifact a, eu/sopgate-report.json", {"sopgate-report.json": b'{"eu": 1}'}),
        (
            "a-3",
            "the artifact a, us/deep/sopgate-report.json",
            {"sopgate-report.json": b'{"us": 1}', "sopgate-attestation.dsse.json": b"[2]"},
        ),
    ]


def test_labels_are_safe_folder_names() -> None:
    labels = Labels()
    assert labels("sopgate-report-production[eu-west]-run7") == (
        "sopgate-report-production_eu-west_-run7"
    )
    assert labels("../..") == "record"
    assert labels("..") == "record-2"
    assert labels("a/../b") == "a_.._b"


def test_a_member_that_lies_about_its_size_is_refused() -> None:
    real = b"x" * 100_000
    data = bytearray(archive({"sopgate-report.json": real}))
    # Declare 100 bytes unpacked, in the local header (offset 22) and the central directory
    # entry (offset 24): a reader trusting the header would stop short, or a bomb would pass.
    assert data[:4] == b"PK\x03\x04"
    struct.pack_into("<I", data, 22, 100)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 100)
    with pytest.raises(PlatformError) as caught:
        records_in_zip(bytes(data), what="the artifact a", label="a", labels=Labels())
    assert str(caught.value).startswith(
        "the artifact a: 'sopgate-report.json' cannot be unpacked ("
    )


def test_an_encrypted_record_is_refused() -> None:
    data = bytearray(archive({"sopgate-report.json": b"{}"}, zipfile.ZIP_STORED))
    struct.pack_into("<H", data, 6, 1)  # the "encrypted" flag, local header
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 8, 1)  # and central directory
    with pytest.raises(PlatformError) as caught:
        records_in_zip(bytes(data), what="the artifact a", label="a", labels=Labels())
    assert str(caught.value) == "the artifact a: 'sopgate-report.json' is encrypted: refused"


@pytest.mark.parametrize(
    ("url", "env", "message"),
    [
        ("ftp://blob.example/x", {}, "the download address is not an http(s) URL: refused"),
        ("https:///x", {}, "the download address is not an http(s) URL: refused"),
        (
            "http://blob.example/x",
            {},
            "the download is offered over plain http (http://blob.example:80): refused, "
            "only https:// is accepted",
        ),
    ],
)
def test_download_urls_that_are_refused(url: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(PlatformError) as caught:
        require_safe_blob_url(url, env, what="w")
    assert str(caught.value) == f"w: {message}"


@pytest.mark.parametrize(
    ("url", "env"),
    [
        ("https://blob.example/x?sig=1", {}),
        ("http://127.0.0.1:9/x", {}),
        ("http://[::1]:9/x", {}),
        ("http://blob.example/x", {"SOPGATE_ALLOW_HTTP": "1"}),
    ],
)
def test_download_urls_that_are_accepted(url: str, env: dict[str, str]) -> None:
    require_safe_blob_url(url, env, what="w")
