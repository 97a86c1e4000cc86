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
