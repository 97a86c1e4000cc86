"""When a node may run: its change window and the freezes that cover it.

One entry point, :func:`timing`, judged at ``observed_at``. ``window.timezone: region`` uses
the instance's region time zone (:meth:`Node.timezone`); a zone nobody can tell keeps the gate
closed. Freezes are scoped by ``environments`` and ``regions`` (:meth:`Node.frozen_by`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfoNotFoundError

from sopgate import gates
from sopgate.sop.model import Sop
from sopgate.sop.plan import Node


@dataclass(frozen=True)
class TimingFinding:
    window: tuple[str, ...]  # outside the window, or the window cannot be judged
    freeze: tuple[str, ...]  # a freeze applies


def timing(sop: Sop, node: Node, now: datetime) -> TimingFinding:
    step = node.step
    window: list[str] = []
    if step.window:
        zone = node.timezone(step.window)
        if zone == "region":
            where = f"region {node.region}" if node.region else "a step that is not per region"
            window.append(
                f"its change window uses the region's time zone, but {where} has none: "
                "the window cannot be judged"
            )
        else:
            try:
                if not gates.in_window(step.window, now, zone):
                    text = f"outside its change window ({gates.describe_window(step.window, zone)})"
                    opening = gates.next_opening(step.window, now, zone)
                    if opening:
                        text += f"; opens next {opening:%a %Y-%m-%d %H:%M} {zone}"
                    window.append(text)
            except (ZoneInfoNotFoundError, ValueError):
                window.append(f"its change window's time zone {zone} is unknown")
    freeze = gates.active_freeze(sop.freezes, now, node.frozen_by)
    frozen: list[str] = []
    if freeze:
        why = f": {freeze.reason}" if freeze.reason else ""
        frozen.append(f"change freeze from {freeze.from_} to {freeze.to}{why}")
    return TimingFinding(tuple(window), tuple(frozen))
