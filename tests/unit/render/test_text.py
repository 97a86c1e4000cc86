from __future__ import annotations

import pytest

from sopgate.evaluate import State
from sopgate.render.text import render_text

from .builders import evaluation


def test_plain_report_puts_decision_and_next_first() -> None:
    ev = evaluation(
        {"go-no-go": "waiting", "production[eu-west]": "blocked"}, target="production[eu-west]"
    )
    lines = render_text(ev).splitlines()
    assert lines[:10] == [
        "sopgate: Fraud-scoring model release @ 4b825dc642cb (observed 2026-11-26T10:00:00Z)",
        "",
        "Decision for production[eu-west]: CLOSED",
        "  Production rollout is blocked (owner sre)",
        "  - needs production[eu-west] done first",
        "",
        "Next:",
        "  - go-no-go: needs 1 approval from security (sec-bob, sec-carol); has 0",
        "",
        "Sequence:",
    ]
    assert lines[10] == "  [done]     data-readiness        data-science"
    waiting = lines.index("  [waiting]  go-no-go              release-managers")
    assert lines[waiting + 1] == (
        "             - needs 1 approval from security (sec-bob, sec-carol); has 0"
    )
    assert "> [blocked]  production[eu-west]   sre" in lines
    assert lines[-1] == "  [done]     post-deploy-watch     sre"


def test_status_has_no_decision_line() -> None:
    text = render_text(evaluation())
    assert "Decision" not in text
    assert "\n\nNext: nothing left to do\n\nSequence:\n" in text


def test_every_line_fits_100_columns() -> None:
    long = "needs 1 sign-off from sre (" + ", ".join(f"person-{i}" for i in range(40)) + "); has 0"
    ev = evaluation(
        {"go-no-go": "waiting"},
        reasons={"go-no-go": (long, "x" * 250)},
        target="go-no-go",
    )
    lines = render_text(ev).splitlines()
    assert max(len(line) for line in lines) <= 100
    next_at = lines.index("Next:")
    assert lines[next_at + 1].startswith("  - go-no-go: needs 1 sign-off from sre (person-0, ")
    assert lines[next_at + 2].startswith("    person-")  # continued, indented under the dash
    words = " ".join(line.strip() for line in lines[next_at + 1 : next_at + 7])
    assert "person-39); has 0" in words


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("done", "\x1b[32m"),
        ("ready", "\x1b[32m"),
        ("waiting", "\x1b[33m"),
        ("blocked", "\x1b[90m"),
        ("failed", "\x1b[31m"),
        ("rejected", "\x1b[31m"),
    ],
)
def test_colour_only_when_asked(state: State, code: str) -> None:
    ev = evaluation({"staging": state}, target="staging")
    plain = render_text(ev)
    assert "\x1b" not in plain
    assert plain.isascii()
    coloured = render_text(ev, color=True)
    assert f"{code}[{state}]" in coloured
    assert "\x1b[0m" in coloured


def test_user_text_cannot_inject_escape_codes() -> None:
    ev = evaluation(
        {"staging": "rejected"}, reasons={"staging": ("rejected by rob: \x1b[2J\x07boom\r",)}
    )
    text = render_text(ev)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\r" not in text
    assert "  - staging: rejected by rob:  [2J boom\n" in text
