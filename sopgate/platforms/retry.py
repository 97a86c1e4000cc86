"""What both adapters' bounded retries share: reading how long the server asks to wait."""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any


def retry_after(headers: Mapping[str, Any]) -> float | None:
    """Seconds the ``Retry-After`` header asks for (delta-seconds or an HTTP date, RFC 9110),
    never negative; None when there is no usable header. Header names match in any case."""
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
