"""The record digest a gate's commit status carries, and the facts' ``records`` read from
the ``sopgate/KEY`` statuses of the commit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sopgate.facts import Check
from sopgate.platforms.records import gate_records, record_in, with_record, without_record

RUN = "https://github.com/acme/fraud-model/actions/runs/42"
ONE, TWO = "1" * 64, "2" * 64


def status(key: str, state: str, url: str | None, hour: int | None = 10) -> Check:
    at = datetime(2026, 11, 26, hour, tzinfo=UTC) if hour is not None else None
    return Check(name=f"sopgate/{key}", app="status", state=state, at=at, url=url)


def test_the_digest_rides_in_the_fragment_of_the_run_url() -> None:
    url = with_record(RUN, ONE)
    assert url == f"{RUN}#sopgate-record=sha256:{ONE}"
    assert record_in(url) == ONE
    assert without_record(url) == RUN


@pytest.mark.parametrize(
    ("case", "url"),
    [
        ("no fragment", RUN),
        ("no url", None),
        ("short digest", f"{RUN}#sopgate-record=sha256:{ONE[:63]}"),
        ("upper case", f"{RUN}#sopgate-record=sha256:{ONE.upper()[:60]}ABCD"),
        ("no algorithm", f"{RUN}#sopgate-record={ONE}"),
        ("another algorithm", f"{RUN}#sopgate-record=sha512:{ONE}"),
        ("something after it", f"{RUN}#sopgate-record=sha256:{ONE}&x=1"),
        ("another fragment", f"{RUN}#L12"),
        ("two fragments", f"{RUN}#x#sopgate-record=sha256:{ONE}"),
    ],
)
def test_anything_but_a_well_formed_fragment_names_no_record(case: str, url: str | None) -> None:
    assert record_in(url) is None, case
    # and a URL that is not exactly RUN plus our fragment stays as it is (sync refuses it)
    assert without_record(url) == url, case


def test_the_latest_open_gate_status_of_each_step_names_its_record() -> None:
    checks = [
        status("build", "success", with_record(RUN, ONE), hour=9),
        status("build", "success", with_record(RUN, TWO), hour=11),  # a re-run, later
        status("production[eu-west]", "success", with_record(RUN, ONE)),
        Check(name="build", app="github-actions", state="success", url=with_record(RUN, TWO)),
        Check(name="sopgate/staging", app="ci", state="success", url=with_record(RUN, TWO)),
    ]
    assert gate_records(checks) == {"build": TWO, "production[eu-west]": ONE}


@pytest.mark.parametrize(
    ("case", "checks"),
    [
        # the gate is closed now: its earlier open record is no longer the state of the step
        (
            "closed after open",
            [
                status("build", "success", with_record(RUN, ONE), hour=9),
                status("build", "failure", with_record(RUN, TWO), hour=11),
            ],
        ),
        # an entry with no time may be the latest: never favourable
        (
            "undated pending",
            [
                status("build", "success", with_record(RUN, ONE), hour=9),
                status("build", "pending", with_record(RUN, TWO), hour=None),
            ],
        ),
        ("pending", [status("build", "pending", with_record(RUN, ONE))]),
        ("no digest (a sync status)", [status("build", "success", "https://x/pull/3")]),
        ("no url", [status("build", "success", None)]),
        ("malformed", [status("build", "success", f"{RUN}#sopgate-record=sha256:zz")]),
        ("not a step key", [status("Build now", "success", with_record(RUN, ONE))]),
        ("empty key", [status("", "success", with_record(RUN, ONE))]),
    ],
)
def test_no_record_is_named_unless_the_latest_status_is_an_open_gate_with_a_digest(
    case: str, checks: list[Check]
) -> None:
    assert gate_records(checks) == {}, case
