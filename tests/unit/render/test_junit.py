from __future__ import annotations

import xml.etree.ElementTree as ET

from sopgate.render.junit import render_junit

from .builders import evaluation


def parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def test_counts_and_outcomes() -> None:
    ev = evaluation(
        {
            "model-validation": "failed",
            "security-review": "rejected",
            "build": "blocked",
            "go-no-go": "waiting",
            "infrastructure": "ready",
        }
    )
    suite = parse(render_junit(ev))
    assert suite.tag == "testsuite"
    assert suite.attrib["name"] == "sopgate: Fraud-scoring model release"
    assert (suite.attrib["tests"], suite.attrib["failures"], suite.attrib["skipped"]) == (
        "11",
        "2",
        "2",
    )
    cases = {case.attrib["name"]: case for case in suite.iter("testcase")}
    assert list(cases) == [node.key for node in ev.plan.nodes]
    assert len(suite.findall("testcase/failure")) == 2
    assert len(suite.findall("testcase/skipped")) == 2

    failure = cases["model-validation"].find("failure")
    assert failure is not None
    assert failure.attrib == {"message": "failed: check model-eval failed", "type": "failed"}
    assert failure.text == "check model-eval failed"
    skipped = cases["go-no-go"].find("skipped")
    assert skipped is not None
    assert skipped.attrib["message"].startswith("waiting: needs 1 approval from security")
    ready = cases["infrastructure"]
    assert [child.tag for child in ready] == ["system-out"]
    assert list(cases["data-readiness"]) == []
    production = cases["production[eu-west]"].attrib
    assert production["classname"] == "sopgate.production"
    assert production["line"] == "82"


def test_escapes_markup_and_drops_characters_xml_cannot_hold() -> None:
    reason = 'rejected by rob: <script>&"quotes"\x1b[31m\x00'
    ev = evaluation({"staging": "rejected"}, reasons={"staging": (reason,)})
    text = render_junit(ev)
    assert "<script>" not in text
    failure = parse(text).find("testcase[@name='staging']/failure")
    assert failure is not None
    assert failure.text == 'rejected by rob: <script>&"quotes"?[31m?'
    assert failure.attrib["message"] == f"rejected: {failure.text}"
