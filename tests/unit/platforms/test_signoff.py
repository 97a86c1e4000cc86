"""Sign-off lines are read the same way on GitHub and GitLab."""

from __future__ import annotations

import pytest

from sopgate.platforms.signoff import MARKER, signoffs_in


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("/sop approve go-no-go", [("approved", "go-no-go", None)]),
        ("  /sop approve production[eu-west]  ", [("approved", "production[eu-west]", None)]),
        ("/sop reject go-no-go p95 too high\r\nthanks", [("rejected", "go-no-go", "p95 too high")]),
        ("/sop reject go-no-go", [("rejected", "go-no-go", None)]),
        (
            "/sop approve staging\n/sop approve go-no-go",
            [("approved", "staging", None), ("approved", "go-no-go", None)],
        ),
        ("> /sop approve go-no-go", []),  # quoting is not signing
        ("please /sop approve go-no-go", []),
        ("/sop approve Go_No_Go", []),  # not a step id
        ("/sop approved go-no-go", []),
        (f"{MARKER}\n/sop approve go-no-go", []),  # sopgate's own comment
    ],
)
def test_signoff_lines(body: str, found: list[tuple[str, str, str | None]]) -> None:
    entries = signoffs_in(body, user="rita", at=None, edited=False, url=None)
    assert [(e.state, e.step, e.reason) for e in entries] == found
    assert all(e.source == "signoff" and e.user == "rita" for e in entries)


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("fenced code block", "Like this:\n\n```\n/sop approve go-no-go\n```\n"),
        ("tilde fence", "~~~text\n/sop approve go-no-go\n~~~"),
        ("indented code block", "Example:\n\n    /sop approve go-no-go\n"),
        ("HTML comment block", "<!--\n/sop approve go-no-go\n-->"),
        ("one-line HTML comment", "<!-- /sop approve go-no-go -->"),
        ("HTML comment inside a paragraph", "note <!--\n/sop approve go-no-go\n--> done"),
        ("code span", "`/sop approve go-no-go`"),
        ("quote in a quote", "> > /sop approve go-no-go"),
        ("lazy quote continuation", "> earlier words\n/sop approve go-no-go"),
        ("list item", "- /sop approve go-no-go"),
        ("trailing words", "/sop approve go-no-go not yet"),
        ("trailing code span", "/sop approve go-no-go `later`"),
        ("trailing HTML comment", "/sop approve go-no-go <!-- not yet -->"),
        ("emphasis", "/sop approve *go-no-go*"),
        ("HTML block", "<div>\n/sop approve go-no-go\n</div>"),
        ("emergency without a reason", "/sop emergency production"),
    ],
)
def test_no_command_outside_plain_top_level_lines(case: str, body: str) -> None:
    """Quoting, showing or qualifying a command is not giving it (issue 7, false allow 1)."""
    assert signoffs_in(body, user="rita", at=None, edited=False, url=None) == [], case


@pytest.mark.parametrize(
    ("body", "found"),
    [
        # a rejection's reason may carry markup: the veto still counts
        ("/sop reject go-no-go p95 *way* too high", [("rejected", "go-no-go", "p95 way too high")]),
        ("/sop reject go-no-go see `INC-1`", [("rejected", "go-no-go", "see INC-1")]),
        (
            "Looks good to me.\n/sop approve go-no-go\n\n```\n/sop reject go-no-go x\n```",
            [("approved", "go-no-go", None)],
        ),
        ("\\/sop approve go-no-go", [("approved", "go-no-go", None)]),  # an escaped slash
    ],
)
def test_commands_among_markup(body: str, found: list[tuple[str, str, str | None]]) -> None:
    entries = signoffs_in(body, user="rita", at=None, edited=False, url=None)
    assert [(e.state, e.step, e.reason) for e in entries] == found


def test_emergency_lines_become_emergency_entries() -> None:
    body = "/sop emergency production[eu-west] payment outage INC-4411\n/sop approve staging"
    entries = signoffs_in(body, user="olga", at=None, edited=None, url="u")
    assert [(e.source, e.state, e.step, e.reason) for e in entries] == [
        ("emergency", "approved", "production[eu-west]", "payment outage INC-4411"),
        ("signoff", "approved", "staging", None),
    ]
    assert entries[0].edited is None  # unknown stays unknown
