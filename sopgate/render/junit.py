"""JUnit XML, one test case per step, for GitLab's merge request test widget."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sopgate.evaluate import Evaluation, StepResult

# Characters XML 1.0 cannot carry at all, even escaped; ElementTree would write them as is.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters that would make the document unparsable."""
    return _NOT_XML.sub("?", text)


def render_junit(evaluation: Evaluation) -> str:
    """``<testsuite>`` with one ``<testcase>`` per step: done/ready pass, failed/rejected
    fail, waiting/blocked are skipped; the reasons are the message. A step's emergency
    override lines are also its ``emergency`` properties."""
    results = evaluation.steps
    failures = sum(result.state in ("failed", "rejected") for result in results)
    skipped = sum(result.state in ("waiting", "blocked") for result in results)
    suite = ET.Element(
        "testsuite",
        {
            "name": xml_text(f"sopgate: {evaluation.loaded.sop.name}"),
            "tests": str(len(results)),
            "failures": str(failures),
            "errors": "0",
            "skipped": str(skipped),
            "timestamp": evaluation.facts.observed_at.isoformat(),
        },
    )
    for result in results:
        suite.append(_case(result, path=evaluation.loaded.path))
    ET.indent(suite)
    body = ET.tostring(suite, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _case(result: StepResult, *, path: str) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": xml_text(f"sopgate.{result.step_id}"),
            "name": xml_text(result.key),
            "file": xml_text(path),
            "line": str(result.line),
        },
    )
    if result.emergency:
        properties = ET.SubElement(case, "properties")
        for line in result.emergency:
            ET.SubElement(properties, "property", {"name": "emergency", "value": xml_text(line)})
    reasons = xml_text("\n".join(result.reasons))
    message = xml_text(f"{result.state}: {result.reasons[0]}" if result.reasons else result.state)
    if result.state in ("failed", "rejected"):
        ET.SubElement(case, "failure", {"message": message, "type": result.state}).text = reasons
    elif result.state in ("waiting", "blocked"):
        ET.SubElement(case, "skipped", {"message": message}).text = reasons
    elif reasons and (result.state == "ready" or result.emergency):
        ET.SubElement(case, "system-out").text = reasons
    return case
