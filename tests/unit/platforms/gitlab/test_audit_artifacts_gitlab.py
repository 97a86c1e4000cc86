"""``sopgate audit --platform gitlab``: the records kept in the job artifacts of one commit's
pipelines (``sopgate-report/`` in the CI template), downloaded and audited as local files.

Real HTTP against the GitLab stub on 127.0.0.1 (which answers 401 without the token); one
job's files redirect to a second listener that plays object storage and records every
header it gets: the token must never reach it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sopgate.cli import main
from tests.stubs.github_stub import Listener
from tests.stubs.gitlab_stub import GitLabStub, serve
from tests.unit.platforms.audit_records import SHA, STEPS, build_records
from tests.unit.platforms.gitlab.gitlab_fixtures import TOKEN

V4 = "/api/v4/projects/7"
FILES = ("sopgate-report.json", "sopgate-attestation.json")
JOBS = {
    "build": "build-image",
    "staging": "deploy-staging",
    "go-no-go": "go-no-go",
    "production[eu-west]": "deploy-production (eu-west)",
    "production[us-east]": "deploy-production (us-east)",
    "production[ap-south]": "deploy-production (ap-south)",
    "post-deploy-watch": "post-deploy-watch",
}


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_records(tmp_path_factory.mktemp("gates"))


@pytest.fixture
def storage() -> Iterator[Listener]:
    with Listener() as listening:
        yield listening


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitLabStub]:
    with serve(GitLabStub(token=TOKEN)) as served:
        for name in ("SOPGATE_ALLOW_HTTP", "SOPGATE_API_TIMEOUT", "GITHUB_ACTIONS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("CI_API_V4_URL", f"{served.url}/api/v4")
        monkeypatch.setenv("CI_PROJECT_ID", "7")
        monkeypatch.setenv("CI_COMMIT_SHA", SHA)
        monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
        monkeypatch.setenv("GITLAB_CI", "true")
        yield served


def job(job_id: int, name: str, *, archive: bool = True, **fields: Any) -> dict[str, Any]:
    artifacts = [{"file_type": "archive", "size": 900, "filename": "artifacts.zip"}]
    return {
        "id": job_id,
        "name": name,
        "status": "success",
        "artifacts": artifacts if archive else [],
        **fields,
    }


def pipeline(
    stub: GitLabStub,
    records: dict[str, Path],
    *,
    skip: tuple[str, ...] = (),
    jobs: list[dict[str, Any]] | None = None,
) -> None:
    """Pipeline 900 of the commit: one job per gate, each keeping its record (or not)."""
    stub.routes[("GET", f"{V4}/pipelines")] = (200, [{"id": 900, "sha": SHA}])
    listed = list(jobs or [])
    for n, step in enumerate(STEPS):
        listed.append(job(1000 + n, JOBS[step]))
        if step in skip:
            continue
        for name in FILES:
            path = f"{V4}/jobs/{1000 + n}/artifacts/sopgate-report/{name}"
            stub.routes[("GET", path)] = (200, (records[step] / name).read_text())
    stub.routes[("GET", f"{V4}/pipelines/900/jobs")] = (200, listed)


def to_storage(stub: GitLabStub, storage: Listener, n: int, content: bytes | None = None) -> None:
    """Job 1000+n's record is served by object storage, through a redirect."""
    for name in FILES:
        path = f"{V4}/jobs/{1000 + n}/artifacts/sopgate-report/{name}"
        status, text = stub.routes.pop(("GET", path))
        assert status == 200
        stored = f"/bucket/{1000 + n}/{name}"
        storage.files[stored] = text.encode() if content is None else content
        stub.redirects[("GET", path)] = (302, f"{storage.url}{stored}?X-Amz-Signature=SIGNED")


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_complete_deployment_is_downloaded_and_audited(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: GitLabStub,
    storage: Listener,
    records: dict[str, Path],
) -> None:
    # 120 jobs without artifacts come first: the gate jobs are on the second page.
    others = [job(2000 + n, f"lint-{n}", archive=False) for n in range(120)]
    # A job with artifacts but no record: a 404 for its sopgate-report/ files, no finding.
    others.append(job(3000, "unit-tests"))
    pipeline(stub, records, jobs=others)
    to_storage(stub, storage, 0)
    code, out, err = audit(capsys, "--platform", "gitlab", "-o", str(tmp_path / "d"))
    assert code == 0, err
    assert out == f"audit of commit {SHA}: 7 records (7 replay), 0 findings\n"
    assert err.startswith(f"downloaded 7 records of {SHA} (1 pipeline, 8 jobs with artifacts)\n")
    kept = tmp_path / "d" / "records" / "build-image-job1000"
    assert (kept / "sopgate-report.json").read_bytes() == (
        records["build"] / "sopgate-report.json"
    ).read_bytes()
    assert (kept / "sopgate-attestation.json").is_file()
    # Object storage got the signed URLs, and no credential.
    assert sorted(h.path for h in storage.heard) == [
        f"/bucket/1000/{name}?X-Amz-Signature=SIGNED" for name in sorted(FILES)
    ]
    for heard in storage.heard:
        assert TOKEN not in json.dumps([heard.headers, heard.body])
        assert not {n.lower() for n in heard.headers} & {"private-token", "authorization"}
    # The API got the token on every request, the commit and the retried jobs were asked for.
    assert all(r.headers.get("PRIVATE-TOKEN") == TOKEN for r in stub.requests)
    listing = [r for r in stub.requests if r.path == f"{V4}/pipelines"]
    assert [r.query["sha"] for r in listing] == [[SHA]]
    pages = [r for r in stub.requests if r.path == f"{V4}/pipelines/900/jobs"]
    assert [r.query["include_retried"] for r in pages] == [["true"], ["true"]]
    # Jobs without an artifacts archive were not asked for files.
    assert not any("/jobs/2000/" in r.path for r in stub.requests)
    assert TOKEN not in out + err and "SIGNED" not in out + err


def test_the_commit_can_be_given(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: GitLabStub,
    records: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipeline(stub, records)
    monkeypatch.setenv("CI_COMMIT_SHA", "e" * 40)
    code, out, err = audit(capsys, "--platform", "auto", "--commit", SHA, "-o", str(tmp_path / "d"))
    assert code == 0, err
    assert out == f"audit of commit {SHA}: 7 records (7 replay), 0 findings\n"
    listing = [r for r in stub.requests if r.path == f"{V4}/pipelines"]
    assert [r.query["sha"] for r in listing] == [[SHA]]


def test_a_missing_record_is_a_finding(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: GitLabStub,
    records: dict[str, Path],
) -> None:
    pipeline(stub, records, skip=("staging",))
    code, out, err = audit(capsys, "--platform", "gitlab", "-o", str(tmp_path / "d"))
    assert code == 1
    assert out == f"audit of commit {SHA}: 6 records (6 replay), 2 findings\n"
    assert (
        "  - no record of staging, a step with jobs (deploy-staging); state at the last "
        "record: done\n"
    ) in err


def test_expired_artifacts_are_noted(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: GitLabStub,
    records: dict[str, Path],
) -> None:
    pipeline(stub, records, skip=("staging",))
    jobs = stub.routes[("GET", f"{V4}/pipelines/900/jobs")][1]
    jobs[1]["artifacts_expire_at"] = "2020-01-01T00:00:00.000Z"
    code, _out, err = audit(capsys, "--platform", "gitlab", "-o", str(tmp_path / "d"))
    assert code == 1
    assert (
        "note: the artifacts of job deploy-staging (1001) of pipeline 900 have expired: a "
        "record there cannot be read\n"
    ) in err


def test_a_redirect_to_plain_http_elsewhere_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: GitLabStub,
    records: dict[str, Path],
) -> None:
    pipeline(stub, records)
    path = f"{V4}/jobs/1000/artifacts/sopgate-report/sopgate-report.json"
    stub.redirects[("GET", path)] = (302, "http://objects.example.invalid/b?X-Amz-Signature=S")
    code, out, err = audit(capsys, "--platform", "gitlab", "-o", str(tmp_path / "d"))
    assert (code, out) == (3, "")
    assert err == (
        "sopgate-report/sopgate-report.json of job build-image (1000) of pipeline 900: the "
        "download is offered over plain http (http://objects.example.invalid:80): refused, "
        "only https:// is accepted\n"
    )


def test_a_record_larger_than_the_cap_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: GitLabStub,
    storage: Listener,
    records: dict[str, Path],
) -> None:
    pipeline(stub, records)
    to_storage(stub, storage, 0, content=b" " * (9 * 1024 * 1024))
    code, _out, err = audit(capsys, "--platform", "gitlab", "-o", str(tmp_path / "d"))
    assert code == 3
    assert err == (
        "sopgate-report/sopgate-report.json of job build-image (1000) of pipeline 900 is "
        "larger than 8 MiB: refused\n"
    )


def test_a_refusal_of_the_api_fails_closed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: GitLabStub
) -> None:
    stub.routes[("GET", f"{V4}/pipelines")] = (403, {"message": "403 Forbidden"})
    code, out, err = audit(capsys, "--platform", "gitlab", "-o", str(tmp_path / "d"))
    assert (code, out) == (3, "")
    assert err.startswith("GitLab answered 403 to GET /projects/7/pipelines: 403 Forbidden")
    assert TOKEN not in err


def test_a_job_token_alone_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: GitLabStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GITLAB_TOKEN")
    monkeypatch.setenv("CI_JOB_TOKEN", "job-token-value-123")
    code, _out, err = audit(capsys, "--platform", "gitlab", "-o", str(tmp_path / "d"))
    assert code == 3
    assert err.startswith("GITLAB_TOKEN is not set and CI_JOB_TOKEN cannot be used")
    assert stub.requests == []
