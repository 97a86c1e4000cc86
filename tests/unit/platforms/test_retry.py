"""One reading of Retry-After for both adapters."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from sopgate.platforms.retry import retry_after


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": " 2.5 "}, 2.5),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(headers) == seconds


def test_retry_after_as_an_http_date() -> None:
    wait = retry_after({"Retry-After": formatdate(time.time() + 120, usegmt=True)})
    assert wait is not None and 110 <= wait <= 121
    assert retry_after({"Retry-After": formatdate(time.time() - 60, usegmt=True)}) == 0.0
