"""An emergency override is loud in every summary (DESIGN.md, "Emergency"): a red line at
the top of the text and Markdown, in the step's row and reasons, in JUnit; and a step done
behind a closed gate never reads "nothing left to do"."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sopgate.render.junit import render_junit
from sopgate.render.markdown import render_markdown
from sopgate.render.text import render_text
from tests.unit.render.emergency_cases import LINE, deployed_in_freeze, emergency_run

ALERT = f"> [!CAUTION]\n> **{LINE}** (production)\n"


def test_markdown_opens_with_the_red_override_line_before_the_decision() -> None:
    text = render_markdown(emergency_run())
    assert text.startswith(ALERT + "\n## sopgate: Credit-risk model release\n")
    assert text.index(ALERT) < text.index("gate **open**")


def test_markdown_shows_the_override_in_the_decision_and_the_row() -> None:
    text = render_markdown(emergency_run())
    assert f"\n- **{LINE}**\n- gate open: run deploy-production (owner sre)\n" in text
    assert (
        f"| Deploy to production (production) | sre | 🟢 ready | **{LINE}**<br>gate open: run "
        "deploy-production (owner sre) |"
    ) in text


def test_markdown_override_reason_is_escaped() -> None:
    text = render_markdown(emergency_run(reason="fix **now** <b>[x](http://e.invalid)"))
    top = text.splitlines()[1]
    assert top == (
        r"> **EMERGENCY OVERRIDE by olga: fix \*\*now\*\* \<b\>[x\](http://e.invalid)** "
        "(production)"
    )


def test_markdown_budget_never_cuts_the_override_line() -> None:
    text = render_markdown(emergency_run(), budget=200)
    assert text.startswith(ALERT)


def test_no_alert_without_an_override() -> None:
    assert "[!CAUTION]" not in render_markdown(deployed_in_freeze())
    assert "EMERGENCY" not in render_text(deployed_in_freeze())


def test_text_opens_with_the_override_line() -> None:
    text = render_text(emergency_run())
    assert text.startswith(f"{LINE} (production)\n\nsopgate: Credit-risk model release @ ")


def test_text_override_line_is_red_with_colour() -> None:
    text = render_text(emergency_run(), color=True)
    assert text.startswith(f"\x1b[1m\x1b[31m{LINE} (production)\x1b[0m\n\n")


def test_text_override_line_is_cleaned() -> None:
    text = render_text(emergency_run(reason="outage\x1b[2J now"), color=False)
    assert text.startswith("EMERGENCY OVERRIDE by olga: outage [2J now (production)\n")


def test_junit_case_carries_the_override() -> None:
    suite = ET.fromstring(render_junit(emergency_run()).split("\n", 1)[1])
    case = suite.find("testcase[@name='production']")
    assert case is not None
    props = case.findall("properties/property")
    assert [(p.get("name"), p.get("value")) for p in props] == [("emergency", LINE)]
    out = case.find("system-out")
    assert out is not None and out.text is not None
    assert out.text.startswith(LINE)
    staging = suite.find("testcase[@name='staging']")
    assert staging is not None and staging.find("properties") is None


def test_next_names_why_a_done_step_s_gate_is_closed() -> None:
    freeze = "change freeze from 2026-12-18 to 2027-01-04: Year-end freeze for production"
    evaluation = deployed_in_freeze()
    text = render_text(evaluation)
    assert "nothing left to do" not in text
    assert (
        "\nNext:\n  - production: done, but its gate is closed: change freeze from 2026-12-18 to "
        "2027-01-04: Year-end\n    freeze for production\n"
    ) in text
    markdown = render_markdown(evaluation)
    assert "Nothing left to do" not in markdown
    assert f"- ▶ **production** · owner sre: done, but its gate is closed: {freeze}\n" in markdown
