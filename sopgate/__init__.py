"""sopgate: enforce a deployment SOP as a CI gate."""

from __future__ import annotations

__version__ = "0.1.0"
