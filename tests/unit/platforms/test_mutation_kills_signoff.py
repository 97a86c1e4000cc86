"""Tests written from the surviving mutants of sopgate/platforms/signoff.py (docs/mutation.md)."""

from __future__ import annotations

import pytest

from sopgate.platforms.signoff import MARKER, is_sopgate, signoffs_in


@pytest.mark.parametrize("hard_break", ["  \n", "\\\n"])
def test_a_command_after_a_hard_line_break_is_read(hard_break: str) -> None:
    # A line ending in two spaces or a backslash is a hard break: the next line still starts
    # a line of its own, so it is a command (and the text before it is not part of it).
    body = f"Checked the dashboards.{hard_break}/sop approve go-no-go"
    entries = signoffs_in(body, user="rita", at=None, edited=False, url=None)
    assert [(e.state, e.step, e.reason, e.source) for e in entries] == [
        ("approved", "go-no-go", None, "signoff")
    ]


def test_a_command_before_a_hard_line_break_keeps_its_reason_to_its_line() -> None:
    body = "/sop reject go-no-go p95 too high  \nthanks"
    entries = signoffs_in(body, user="rita", at=None, edited=False, url=None)
    assert [(e.state, e.reason) for e in entries] == [("rejected", "p95 too high")]


@pytest.mark.parametrize("lead", ["\n", "  ", "\n\t \n"])
def test_sopgates_own_comment_after_leading_whitespace_holds_no_signoffs(lead: str) -> None:
    # The sticky comment quotes the commands it asks for; with whitespace before its marker
    # (as some API round trips add) it must still be recognised and skipped.
    body = f"{lead}{MARKER}\n/sop approve go-no-go\n\n/sop emergency production outage\n"
    assert is_sopgate(body)
    assert signoffs_in(body, user="sopgate-bot", at=None, edited=False, url=None) == []


def test_a_comment_that_only_ends_with_the_marker_is_not_sopgates() -> None:
    body = f"/sop approve go-no-go\n{MARKER}"
    assert not is_sopgate(body)
    entries = signoffs_in(body, user="rita", at=None, edited=False, url=None)
    assert [(e.state, e.step) for e in entries] == [("approved", "go-no-go")]


def _commands(body: str) -> list[tuple[str, str | None]]:
    entries = signoffs_in(body, user="rita", at=None, edited=False, url=None)
    return [(e.state, e.step) for e in entries]


@pytest.mark.parametrize(
    "body",
    [
        # a void element before the opening tag in the same HTML block still opens it
        "<hr><details>\n\n/sop approve go-no-go\n\n</details>",
        # a closing tag inside a code block closes nothing: the command stays inside
        "<details>\n\n```\n</details>\n```\n\n/sop approve go-no-go\n\n</details>",
        "<details>\n\n    </details>\n\n/sop approve go-no-go\n\n</details>",
        # an element opened inline, in a paragraph, holds the paragraphs after it
        "Logs: <details>\n\n/sop approve go-no-go\n\n</details>",
        "Logs: <div><span>x</span>\n\n/sop approve go-no-go\n\n</div>",
    ],
)
def test_a_command_inside_an_open_element_is_no_signoff(body: str) -> None:
    assert _commands(body) == []
    # and after the element closes, a command counts again
    assert _commands(body + "\n\n/sop approve go-no-go") == [("approved", "go-no-go")]
