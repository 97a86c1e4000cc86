"""``sopgate audit --platform github``: the records of one commit downloaded from its
workflow runs' ``sopgate-report-*`` artifacts, then audited as local files are.

Real HTTP against the GitHub stub on 127.0.0.1; the artifact downloads redirect to a second
listener that plays blob storage and records every header it gets, so each test can show
that the canary token never reaches it. The records are written by real ``check`` runs of
the example SOP (tests/unit/test_audit.py's deployment)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CANARY  # type: ignore[import-not-found]

from sopgate.cli import main
from tests.unit.platforms.audit_records import SHA, STEPS, build_records, zipped

sys.path.insert(0, str(Path(__file__).parents[3] / "stubs"))
from github_stub import GitHubState, GitHubStub, Listener, Trick  # type: ignore[import-not-found]

REPO = "/repos/acme/fraud-model"
SIG = "sv=2025&sig=SIGNEDsecretSIGNATURE"


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_records(tmp_path_factory.mktemp("gates"))


class Deployment:
    """The stub's workflow runs and artifacts for a deployment, one run per gate."""

    def __init__(self, state: GitHubState, blob: Listener) -> None:
        self.state = state
        self.blob = blob

    def add(
        self,
        n: int,
        name: str,
        content: bytes,
        *,
        location: str | None = None,
        **fields: object,
    ) -> int:
        run_id, artifact_id = 100 + n, 500 + n
        if all(r["id"] != run_id for r in self.state.workflow_runs):
            self.state.workflow_runs.append({"id": run_id, "head_sha": SHA, "name": "deploy"})
        artifact = {
            "id": artifact_id + 100 * len(self.state.artifacts.get(run_id, [])),
            "name": name,
            "size_in_bytes": len(content),
            "expired": False,
            **fields,
        }
        self.state.artifacts.setdefault(run_id, []).append(artifact)
        path = f"/blob/{artifact['id']}.zip"
        self.blob.files[path] = content
        target = location or f"{self.blob.url}{path}?{SIG}"
        self.state.tricks.append(
            Trick(rf"{REPO}/actions/artifacts/{artifact['id']}/zip$", "redirect", to=target)
        )
        return int(str(artifact["id"]))

    def complete(self, records: dict[str, Path], skip: tuple[str, ...] = ()) -> None:
        for n, step in enumerate(STEPS):
            if step not in skip:
                self.add(n, f"sopgate-report-{step}", zipped(records[step]))


@pytest.fixture
def blob() -> Iterator[Listener]:
    with Listener() as listening:
        yield listening


@pytest.fixture
def stub(blob: Listener, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStub]:
    with GitHubStub(GitHubState()) as served:
        for name in ("GITHUB_EVENT_PATH", "SOPGATE_ALLOW_HTTP", "SOPGATE_API_TIMEOUT"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("GITHUB_API_URL", served.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/fraud-model")
        monkeypatch.setenv("GITHUB_TOKEN", CANARY)
        monkeypatch.setenv("GITHUB_SHA", SHA)
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        yield served


@pytest.fixture
def deployment(stub: GitHubStub, blob: Listener) -> Deployment:
    return Deployment(stub.state, blob)


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def no_credential_reached(blob: Listener) -> None:
    for heard in blob.heard:
        assert CANARY not in json.dumps([heard.headers, heard.body])
        names = {name.lower() for name in heard.headers}
        assert not names & {"authorization", "private-token", "job-token", "cookie"}


def test_a_complete_deployment_is_downloaded_and_audited(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: GitHubStub,
    blob: Listener,
    deployment: Deployment,
    records: dict[str, Path],
) -> None:
    deployment.complete(records)
    # Another workflow's artifact is never downloaded (no redirect is set up for it).
    stub.state.artifacts[100].append({"id": 9, "name": "coverage", "expired": False})
    code, out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert code == 0, err
    assert out == f"audit of commit {SHA}: 7 records (7 replay), 0 findings\n"
    assert f"downloaded 7 records of {SHA} (7 workflow runs, 7 sopgate-report-* artifacts)" in err
    dossier = json.loads((tmp_path / "d" / "dossier.json").read_text())
    assert dossier["ok"] is True
    kept = tmp_path / "d" / "records" / "sopgate-report-staging-run101" / "sopgate-report.json"
    assert kept.read_bytes() == (records["staging"] / "sopgate-report.json").read_bytes()
    assert (kept.parent / "sopgate-attestation.json").is_file()
    # Each artifact was fetched once from blob storage, by its signed URL, with no credential.
    assert sorted(h.path for h in blob.heard) == sorted(
        f"/blob/{500 + n}.zip?{SIG}" for n in range(7)
    )
    no_credential_reached(blob)
    # The API was asked with the token; the signature never appears in what is printed.
    asked = [r for r in stub.state.requests]
    assert asked and all(r.authorized for r in asked)
    assert "SIGNEDsecret" not in out + err and CANARY not in out + err
    assert "SIGNEDsecret" not in (tmp_path / "d" / "dossier.json").read_text()


def test_the_platform_is_found_by_auto_and_the_commit_can_be_given(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: GitHubStub,
    deployment: Deployment,
    records: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deployment.complete(records)
    monkeypatch.setenv("GITHUB_SHA", "f" * 40)  # the audit job's own commit: not the deployed one
    code, out, err = audit(
        capsys, "--platform", "auto", "--commit", SHA.upper(), "-o", str(tmp_path / "d")
    )
    assert code == 0, err
    assert out == f"audit of commit {SHA}: 7 records (7 replay), 0 findings\n"
    runs = [r.path for r in stub.state.requests if r.path.endswith("/actions/runs")]
    assert runs == [f"{REPO}/actions/runs"]


def test_runs_on_every_page_are_read(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: GitHubStub,
    deployment: Deployment,
    records: dict[str, Path],
) -> None:
    # 120 runs of the commit without records come first: the gates' runs are on page 2.
    stub.state.workflow_runs.extend({"id": 1000 + n, "head_sha": SHA} for n in range(120))
    deployment.complete(records)
    code, out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert code == 0, err
    assert out == f"audit of commit {SHA}: 7 records (7 replay), 0 findings\n"
    assert f"downloaded 7 records of {SHA} (127 workflow runs, 7 sopgate-report-* artifacts)" in err
    pages = [r for r in stub.state.requests if r.path == f"{REPO}/actions/runs"]
    assert len(pages) == 2


def test_a_missing_record_is_a_finding(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    deployment: Deployment,
    records: dict[str, Path],
) -> None:
    deployment.complete(records, skip=("staging",))
    code, out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert code == 1
    assert out == f"audit of commit {SHA}: 6 records (6 replay), 2 findings\n"
    assert (
        "  - no record of staging, a step with jobs (deploy-staging); state at the last "
        "record: done\n"
    ) in err
    assert "with no record of an open gate of staging, which it needs" in err


def test_an_expired_artifact_is_noted_and_its_record_is_missing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    blob: Listener,
    deployment: Deployment,
    records: dict[str, Path],
) -> None:
    deployment.complete(records, skip=("staging",))
    deployment.add(1, "sopgate-report-staging", zipped(records["staging"]), expired=True)
    code, _out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert code == 1
    assert (
        "note: the artifact sopgate-report-staging of workflow run 101 has expired: its "
        "record cannot be read\n"
    ) in err
    assert "  - no record of staging, a step with jobs (deploy-staging)" in err
    assert all("/blob/501.zip" not in h.path for h in blob.heard)


def test_a_rerun_attempt_keeps_its_own_artifact(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    deployment: Deployment,
    records: dict[str, Path],
) -> None:
    deployment.complete(records, skip=("staging",))
    deployment.add(1, "sopgate-report-staging-attempt-2", zipped(records["staging"]))
    code, out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert code == 0, err
    assert out == f"audit of commit {SHA}: 7 records (7 replay), 0 findings\n"
    kept = tmp_path / "d" / "records" / "sopgate-report-staging-attempt-2-run101"
    assert (kept / "sopgate-report.json").is_file()


def test_a_redirect_to_plain_http_elsewhere_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    deployment: Deployment,
    records: dict[str, Path],
) -> None:
    deployment.complete(records, skip=("staging",))
    deployment.add(
        1,
        "sopgate-report-staging",
        zipped(records["staging"]),
        location=f"http://blob.example.invalid/x.zip?{SIG}",
    )
    code, out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert (code, out) == (3, "")
    assert err == (
        "the artifact sopgate-report-staging of workflow run 101: the download is offered "
        "over plain http (http://blob.example.invalid:80): refused, only https:// is accepted\n"
    )
    assert not (tmp_path / "d").exists()


def test_an_artifact_listed_as_too_large_is_not_downloaded(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    blob: Listener,
    deployment: Deployment,
    records: dict[str, Path],
) -> None:
    deployment.add(0, "sopgate-report-build", zipped(records["build"]))
    stub_artifact = deployment.state.artifacts[100][0]
    stub_artifact["size_in_bytes"] = 21 * 1024 * 1024
    code, _out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert code == 3
    assert err == (
        "the artifact sopgate-report-build of workflow run 100 has 22020096 bytes, more than "
        "the 20 MiB an artifact of records may have: refused\n"
    )
    assert blob.heard == []


def test_a_download_larger_than_the_cap_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    deployment: Deployment,
) -> None:
    deployment.add(0, "sopgate-report-build", b"PK" + b"\0" * (21 * 1024 * 1024))
    deployment.state.artifacts[100][0]["size_in_bytes"] = 1000  # the listing understates it
    code, _out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert code == 3
    assert err == (
        "the artifact sopgate-report-build of workflow run 100 is larger than 20 MiB: refused\n"
    )


def test_archive_paths_are_never_used_and_a_bomb_elsewhere_is_never_unpacked(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    deployment: Deployment,
    records: dict[str, Path],
) -> None:
    deployment.complete(records, skip=("staging",))
    bomb = {"junk/huge.bin": b"\0" * (64 * 1024 * 1024)}  # deflates to about 64 KiB
    evil = zipped(records["staging"], inside="../../escaped/", extra=bomb)
    assert len(evil) < 1024 * 1024
    deployment.add(1, "sopgate-report-staging", evil)
    out_dir = tmp_path / "work" / "d"
    code, out, err = audit(capsys, "--platform", "github", "-o", str(out_dir))
    assert code == 0, err
    assert out == f"audit of commit {SHA}: 7 records (7 replay), 0 findings\n"
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert all(str(p).startswith("work/d/") for p in written)
    assert not any("escaped" in str(p) or "huge" in str(p) for p in written)
    kept = out_dir / "records" / "sopgate-report-staging-run101" / "sopgate-report.json"
    assert kept.is_file()


def test_a_record_that_unpacks_past_the_cap_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    deployment: Deployment,
    records: dict[str, Path],
) -> None:
    bomb = {"inner/sopgate-report.json": b" " * (9 * 1024 * 1024)}
    deployment.add(0, "sopgate-report-build", zipped(records["build"], extra=bomb))
    code, _out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert code == 3
    assert err == (
        "the artifact sopgate-report-build of workflow run 100: 'inner/sopgate-report.json' "
        "unpacks to 9437184 bytes, more than the 8 MiB a record file may have: refused\n"
    )


def test_an_artifact_that_is_no_zip_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, deployment: Deployment
) -> None:
    deployment.add(0, "sopgate-report-build", b"<html>not found</html>")
    code, _out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert code == 3
    assert err == (
        "the artifact sopgate-report-build of workflow run 100 is not a readable zip "
        "archive: refused\n"
    )


def test_netrc_credentials_never_reach_blob_storage(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    blob: Listener,
    deployment: Deployment,
    records: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login robot password {CANARY}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    deployment.add(0, "sopgate-report-build", zipped(records["build"]))
    code, _out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert code == 1, err  # the other six records are missing
    assert len(blob.heard) == 1
    no_credential_reached(blob)


def test_an_unreachable_api_fails_closed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Listener() as gone:
        url = gone.url
    monkeypatch.setenv("GITHUB_API_URL", url)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/fraud-model")
    monkeypatch.setenv("GITHUB_TOKEN", CANARY)
    monkeypatch.setenv("SOPGATE_API_TIMEOUT", "3")
    code, _out, err = audit(
        capsys, "--platform", "github", "--commit", SHA, "-o", str(tmp_path / "d")
    )
    assert code == 3
    assert err.startswith(f"cannot reach GitHub for {REPO}/actions/runs: ConnectionError")
    assert CANARY not in err


def test_no_record_at_all_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: GitHubStub
) -> None:
    code, out, err = audit(capsys, "--platform", "github", "-o", str(tmp_path / "d"))
    assert code == 1
    assert out == ""
    assert err == (
        f"downloaded 0 records of {SHA} (0 workflow runs, 0 sopgate-report-* artifacts)\n"
        f"no sopgate record of commit {SHA} was found: nothing to audit\n"
    )


def test_records_of_an_earlier_download_are_replaced_but_other_folders_are_kept(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    deployment: Deployment,
    records: dict[str, Path],
) -> None:
    deployment.add(0, "sopgate-report-build", zipped(records["build"]))
    out_dir = tmp_path / "d"
    assert audit(capsys, "--platform", "github", "-o", str(out_dir))[0] == 1
    assert audit(capsys, "--platform", "github", "-o", str(out_dir))[0] == 1
    assert [p.name for p in (out_dir / "records").iterdir() if p.is_dir()] == [
        "sopgate-report-build-run100"
    ]
    mine = tmp_path / "mine"
    (mine / "records").mkdir(parents=True)
    code, _out, err = audit(capsys, "--platform", "github", "-o", str(mine))
    assert code == 2
    assert err == (
        f"{mine / 'records'} exists and was not written by sopgate audit --platform: remove it "
        "or choose another --output\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give REPORT_OR_DIR... or --platform github|gitlab"),
        (["somewhere", "--platform", "github"], "give either REPORT_OR_DIR... or --platform"),
        (["somewhere", "--commit", SHA], "--commit and --token-env apply only with --platform"),
        (
            ["--platform", "github", "--commit", "abc123"],
            "--commit 'abc123' is not a full commit id (40 hex digits)",
        ),
    ],
)
def test_usage_errors(
    capsys: pytest.CaptureFixture[str],
    stub: GitHubStub,
    args: list[str],
    message: str,
) -> None:
    code, _out, err = audit(capsys, *args)
    assert code == 2
    assert message in err


def test_the_help_says_what_is_downloaded_and_what_the_token_needs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _err = audit(capsys, "--help")
    assert code == 0
    assert "sopgate-report-* artifacts of the commit's workflow runs" in out
    assert "(the token needs actions: read)" in out
    assert "[default GITHUB_SHA or CI_COMMIT_SHA]" in out


def test_signed_records_are_verified_with_the_key(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    deployment: Deployment,
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    private = ed25519.Ed25519PrivateKey.generate()
    secret, public = tmp_path / "key.pem", tmp_path / "key.pub.pem"
    secret.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (tmp_path / "gates").mkdir()
    signed = build_records(tmp_path / "gates", sign_key=secret)
    capsys.readouterr()
    deployment.complete(signed)
    out_dir = tmp_path / "d"
    code, out, err = audit(capsys, "--platform", "github", "--key", str(public), "-o", str(out_dir))
    assert code == 0, err
    assert out == f"audit of commit {SHA}: 7 records (7 replay), 0 findings\n"
    kept = out_dir / "records" / "sopgate-report-build-run100" / "sopgate-attestation.dsse.json"
    assert kept.is_file()
    # An artifact without the signature: that record fails the key check.
    (signed["build"] / "sopgate-attestation.dsse.json").unlink()
    deployment.blob.files["/blob/500.zip"] = zipped(signed["build"])
    code, _out, err = audit(
        capsys, "--platform", "github", "--key", str(public), "-o", str(tmp_path / "e")
    )
    assert code == 1
    missing = tmp_path / "e" / "records" / "sopgate-report-build-run100"
    assert (
        f"  - record does not replay: {missing / 'sopgate-attestation.dsse.json'}: no signed "
        "attestation next to the report\n"
    ) in err
