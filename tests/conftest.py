"""Every test runs with ``responses`` active: an HTTP request that no test mocked fails
loudly instead of leaving the machine. Local stub servers on 127.0.0.1 pass through."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import responses


@pytest.fixture(autouse=True)
def _no_unmocked_http() -> Iterator[None]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(re.compile(r"https?://(127\.0\.0\.1|localhost)(:\d+)?/"))
        yield
