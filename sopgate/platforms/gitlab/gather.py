"""One snapshot of a GitLab pipeline's commit, in a bounded number of requests."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sopgate.errors import SopgateError
from sopgate.facts import Approval, Change, Check, Commit, Facts
from sopgate.platforms import Gathered
from sopgate.platforms.gitlab import mapping
from sopgate.platforms.gitlab.client import Api, path_id, visible
from sopgate.platforms.gitlab.contributors import Contributors
from sopgate.platforms.gitlab.documents import read_documents, required_paths
from sopgate.platforms.gitlab.sop_source import Holder, SopSource
from sopgate.platforms.records import gate_records

if TYPE_CHECKING:
    from sopgate.platforms.gitlab import Settings
    from sopgate.sop.model import Sop

#: Deployments of the commit per environment whose approvals are read one by one, the
#: most recent first, when the listing does not carry them (GitLab's does not).
DEPLOYMENT_DETAILS = 5


@dataclass(frozen=True)
class MergeRequest:
    iid: int
    author: str | None
    url: str | None
    sha: str | None  # the MR's current head
    target_branch: str | None
    state: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MergeRequest:
        sha = data.get("sha")
        return cls(
            iid=int(data["iid"]),
            author=mapping.username(data.get("author")),
            url=data.get("web_url") if isinstance(data.get("web_url"), str) else None,
            sha=sha if isinstance(sha, str) and sha else None,
            target_branch=data.get("target_branch") or None,
            state=str(data.get("state") or ""),
        )


class Gatherer:
    def __init__(self, api: Api, settings: Settings, *, clock: Callable[[], datetime]) -> None:
        self.api = api
        self.settings = settings
        self.clock = clock
        self.project = f"/projects/{path_id(settings.project_id)}"
        self.contributors = Contributors(api, self.project)
        #: The merge request of the last gather (publish posts its note there).
        self.last_mr: MergeRequest | None = None

    def gather(self, *, sop_path: str, sync: bool = False) -> Gathered:
        s = self.settings
        notes: list[str] = []
        observed_at = self.clock()
        mr, commit, holder = self._merge_request(notes)
        self.last_mr = mr
        in_force = SopSource(self.api, self.project, s, path=self._repo_path(sop_path)).read(
            holder=holder, head=commit
        )
        notes += in_force.notes
        sops = [p for text in (in_force.text, in_force.proposed) if (p := _parse(text, sop_path))]
        settings = self._approval_settings(notes) if mr is not None else None
        approvals: list[Approval] = []
        change: Change | None = None
        commits: tuple[Commit, ...] | None = None
        if mr is not None:
            review, signoffs = self._approvals(mr, notes)
            commits = self.contributors.commits(mr.iid, notes)
            versions = self.contributors.versions(mr.iid, commit, notes)
            approvals = _on_head(review, mr, settings, versions, notes) + signoffs
            change = Change(
                id=mr.iid,
                author=mr.author,
                url=mr.url,
                pushed_at=self.contributors.pushed_at(versions, mr.iid, commit, notes),
            )
            _committers_note(settings, notes)
        else:
            notes.append(
                f"no merge request: the contributors of commit {commit[:12]} are unknown, so "
                "rules that exclude contributors count nobody"
            )
        checks, jobs = self._checks(notes)
        initiator, rerun_by = (None, None) if sync else _starters(s, jobs, notes)
        files: tuple[str, ...] | None = ()
        documents: dict[str, Any] = {}
        if not sops or any(step.evidence for sop in sops for step in sop.steps):
            files = mapping.blob_paths(
                self.api.list(f"{self.project}/repository/tree", recursive="true", ref=s.commit)
            )
            documents = read_documents(
                self.api,
                self.project,
                paths=required_paths(sops, files),
                ref=s.commit,
                notes=notes,
            )
        groups = self._groups(sops, notes, observed_at.date())
        approvals += self._deployment_approvals(sops, commit, notes)
        facts = Facts(
            facts=1,
            platform="gitlab",
            repository=s.project_path,
            commit=commit,
            change=change,
            # A sync run is started by whoever commented or approved: it has no initiator.
            initiator=initiator,
            rerun_by=rerun_by,
            observed_at=observed_at,
            approvals=tuple(approvals),
            checks=tuple(checks),
            files=files,
            groups=groups,
            notes=tuple(notes),
            sop_changed=in_force.changed,
            commits=commits,
            documents=documents,
            records=gate_records(checks),
        )
        return Gathered(
            facts=facts,
            sop_text=in_force.text,
            proposed_sop_text=in_force.proposed,
            sop_deleted=in_force.deleted,
        )

    def _merge_request(self, notes: list[str]) -> tuple[MergeRequest | None, str, Holder | None]:
        """The MR whose approvals count, the commit they must be on (its head, never a
        merge commit), and the MR whose target branch's SOP decides on a ref that is not
        protected (any state: a closed MR's target still decides)."""
        s = self.settings
        if s.mr_iid is not None:
            mr = MergeRequest.from_json(self.api.get(f"{self.project}/merge_requests/{s.mr_iid}"))
            own = Holder(mr.iid, mr.target_branch or s.target_branch, mr.state)
            if s.source_sha and s.source_sha != s.commit:
                notes.append(
                    f"merged-results pipeline: it runs on merge commit {s.commit[:12]};"
                    f" approvals are judged against the MR head {s.source_sha[:12]}"
                )
                return mr, s.source_sha, own
            return mr, s.commit, own
        found = self.api.list(f"{self.project}/repository/commits/{s.commit}/merge_requests")
        holder = _holder(found, s.commit)
        # Prefer an open MR whose head is this commit, then any open one, then the merged
        # MR whose merge or squash commit this is (a pipeline on the target branch).
        for entry in found:
            if entry.get("state") == "opened" and entry.get("sha") == s.commit:
                return MergeRequest.from_json(entry), s.commit, holder
        for entry in found:
            if entry.get("state") == "opened":
                return MergeRequest.from_json(entry), s.commit, holder
        for entry in found:
            merged_as = {entry.get("merge_commit_sha"), entry.get("squash_commit_sha")}
            head = entry.get("sha")
            if entry.get("state") != "merged" or not isinstance(head, str):
                continue
            if s.commit in merged_as:
                notes.append(
                    f"commit {s.commit[:12]} merged !{entry.get('iid')}; approvals "
                    f"are judged against its head {head[:12]}"
                )
                return MergeRequest.from_json(entry), head, holder
            if head == s.commit:  # a fast-forward or rebase merge: the head itself landed
                notes.append(f"commit {s.commit[:12]} is the head of !{entry.get('iid')}, merged")
                return MergeRequest.from_json(entry), head, holder
        notes.append(
            f"no merge request contains commit {s.commit[:12]}: no review approvals or sign-offs"
        )
        return None, s.commit, holder

    def _repo_path(self, sop_path: str) -> str:
        root = Path(self.settings.project_dir or os.getcwd()).resolve()
        path = Path(sop_path)
        full = path if path.is_absolute() else Path.cwd() / path
        try:
            return full.resolve().relative_to(root).as_posix()
        except ValueError:
            return path.as_posix().removeprefix("./")

    def _approvals(
        self, mr: MergeRequest, notes: list[str]
    ) -> tuple[list[Approval], list[Approval]]:
        """The MR's review approvals (on no commit yet: see :func:`_on_head`) and its
        sign-offs."""
        base = f"{self.project}/merge_requests/{mr.iid}"
        mr_notes = self.api.list(f"{base}/notes", sort="asc", order_by="created_at")
        answer = visible(
            notes,
            f"the approvals of !{mr.iid} (not available on this tier, or the token lacks access)",
            "no review approvals",
            self.api.get,
            f"{base}/approvals",
        )
        review = (
            []
            if answer is None
            else mapping.review_approvals(answer, sha=None, times=mapping.approval_times(mr_notes))
        )
        return review, mapping.signoffs(mr_notes, url=mr.url)

    def _approval_settings(self, notes: list[str]) -> dict[str, Any] | None:
        """The project's approval settings (``/projects/:id/approvals``, Premium); None
        with a note when hidden."""
        config = visible(
            notes,
            "the project's approval settings (a Premium feature)",
            "approvals are taken as not reset on push",
            self.api.get,
            f"{self.project}/approvals",
        )
        return config if isinstance(config, dict) else None

    def _checks(self, notes: list[str]) -> tuple[list[Check], list[dict[str, Any]]]:
        s = self.settings
        jobs: list[dict[str, Any]] = []
        if s.pipeline_id is not None:
            pipeline = f"{self.project}/pipelines/{s.pipeline_id}"
            jobs = self.api.list(f"{pipeline}/jobs", include_retried="true")
            # Trigger jobs (bridges) are jobs of the pipeline too, listed apart by GitLab.
            jobs += self.api.list(f"{pipeline}/bridges")
        else:
            notes.append("CI_PIPELINE_ID not set: no pipeline jobs")
        statuses = self.api.list(
            f"{self.project}/repository/commits/{s.commit}/statuses", all="true"
        )
        job_ids = {job["id"] for job in jobs if isinstance(job.get("id"), int)}
        checks = mapping.job_checks(jobs) + mapping.status_checks(statuses, job_ids=job_ids)
        return checks, jobs

    def _deployment_approvals(
        self, sops: list[Sop], commit: str, notes: list[str]
    ) -> list[Approval]:
        """Approvals of the deployments of ``commit`` (the facts' commit; ``CI_COMMIT_SHA``,
        a merge commit on merged-results pipelines, counts too) to every environment of a
        step with a ``source: deployment`` rule: one listing per environment, never per
        step, plus at most ``DEPLOYMENT_DETAILS`` single deployments per environment when
        the listing lacks their approvals. 403/404 mean "cannot tell": a note, no approvals,
        so such rules count nobody (fail closed)."""
        environments = sorted(
            {
                step.environment
                for sop in sops
                for step in sop.steps
                if step.environment and any(rule.source == "deployment" for rule in step.approvals)
            }
        )
        shas = {commit, self.settings.commit}
        found: list[Approval] = []
        for environment in environments:
            # Only the first page, newest first: the commit being deployed now was deployed
            # (or is waiting for approval) moments ago, so its deployments are among the 100
            # most recently updated of the environment. Were they not, a hundred deployments
            # to that environment would have happened since: its approvals are then not
            # found and the gate stays closed (fails closed), which is right for so stale a
            # deployment anyway. Reading every page would cost one request per 100
            # deployments of the environment's whole history.
            listing = visible(
                notes,
                f"the deployments of {environment} (the token cannot read them)",
                "no deployment approvals for it",
                self.api.first_page,
                f"{self.project}/deployments",
                environment=environment,
                order_by="updated_at",
                sort="desc",
            )
            if listing is None:
                continue
            matching = [
                d
                for d in listing
                if mapping.deployment_sha(d) in shas
                and mapping.deployment_environment(d) in (environment, None)
            ]
            if not matching and len(listing) >= 100:
                notes.append(
                    f"no deployment of commit {commit[:12]} among the 100 latest to "
                    f"{environment}: no deployment approvals for it"
                )
            found += self._approvals_of(environment, commit, matching, notes)
        return found

    def _approvals_of(
        self, environment: str, commit: str, deployments: list[dict[str, Any]], notes: list[str]
    ) -> list[Approval]:
        """The approvals of ``deployments`` (newest first): from the listing when it has
        them, else from the ``DEPLOYMENT_DETAILS`` most recent deployments one by one."""
        found: list[Approval] = []
        lacking = [d for d in deployments if not isinstance(d.get("approvals"), list)]
        if len(lacking) > DEPLOYMENT_DETAILS:
            notes.append(
                f"{len(lacking)} deployments of commit {commit[:12]} to {environment}: the "
                f"approvals of the {DEPLOYMENT_DETAILS} most recent were read, "
                f"{len(lacking) - DEPLOYMENT_DETAILS} older ones skipped"
            )
        detailed = {id(d) for d in lacking[:DEPLOYMENT_DETAILS]}
        unsupported = False
        for deployment in deployments:
            if isinstance(deployment.get("approvals"), list):
                found += mapping.deployment_approvals(deployment, environment=environment)
                continue
            deployment_id = deployment.get("id")
            if id(deployment) not in detailed or not isinstance(deployment_id, int):
                continue
            detail = visible(
                notes,
                f"deployment {deployment_id} of {environment}",
                "its approvals are unknown",
                self.api.get,
                f"{self.project}/deployments/{deployment_id}",
            )
            if detail is None:
                continue
            if not isinstance(detail, dict) or not isinstance(detail.get("approvals"), list):
                unsupported = True
                continue
            found += mapping.deployment_approvals(detail, environment=environment)
        if unsupported:
            notes.append(
                f"GitLab shows no approvals on the deployments to {environment} "
                "(deployment approvals are a Premium feature): no deployment approvals for it"
            )
        return found

    def _groups(
        self, sops: list[Sop], notes: list[str], today: date
    ) -> dict[str, tuple[str, ...] | None]:
        paths = sorted({g for sop in sops for role in sop.roles.values() for g in role.groups})
        groups: dict[str, tuple[str, ...] | None] = {}
        for path in paths:
            members = visible(
                notes,
                f"group {path} (no such group, or the token cannot see it)",
                "nobody holds a role through it",
                self.api.list,
                f"/groups/{path_id(path)}/members/all",
            )
            groups[path] = None if members is None else mapping.members(members, today=today)
            left_out = mapping.members_left_out(members or ())
            if left_out:
                notes.append(
                    f"group {path}: GitLab does not say whether the membership of "
                    f"{', '.join(left_out)} is active (membership_state, GitLab 15.x and "
                    "later), so they hold no role through it"
                )
        return groups


def _holder(found: list[dict[str, Any]], commit: str) -> Holder | None:
    """The MR whose target branch decides for ``commit`` on an unprotected ref: an open
    one first, then any whose head is the commit, then any that holds it."""
    ranked = sorted(
        (e for e in found if isinstance(e.get("iid"), int)),
        key=lambda e: (e.get("state") != "opened", e.get("sha") != commit),
    )
    if not ranked:
        return None
    entry = ranked[0]
    branch = entry.get("target_branch")
    return Holder(
        int(entry["iid"]),
        branch if isinstance(branch, str) and branch else None,
        str(entry.get("state") or ""),
    )


def _on_head(
    review: list[Approval],
    mr: MergeRequest,
    settings: Mapping[str, Any] | None,
    versions: list[Mapping[str, Any]] | None,
    notes: list[str],
) -> list[Approval]:
    """``review`` with the MR head as their commit where that is known: the project removes
    approvals on push (``reset_approvals_on_push``) and the diff versions show the approval
    came after the head was pushed (GitLab keeps approvals over a rebase from the UI). The
    MR (and its head) was read before the approvals and the versions: a push in between
    shows as a newer version, and then no approval is put on the head."""
    if not review:
        return review
    if settings is None or settings.get("reset_approvals_on_push") is not True:
        notes.append(
            "review approvals carry no commit: the project does not remove "
            "approvals when commits are added (reset_approvals_on_push), so "
            "an approval may predate the last push; fresh rules do not "
            "count them"
        )
        return review
    head = mapping.HeadSince(versions, mr.sha)
    placed = [approval.model_copy(update={"sha": head.sha(approval.at)}) for approval in review]
    unplaced = [approval.user for approval in placed if approval.sha is None]
    if unplaced:
        shown = f"{mr.sha[:12]} was pushed" if mr.sha else "the head was pushed"
        notes.append(
            f"review approvals given before {shown} to !{mr.iid}, or at an unknown time, "
            "carry no commit (GitLab keeps approvals over a rebase): fresh rules do not "
            f"count {', '.join(unplaced)}"
        )
    return placed


def _committers_note(settings: Mapping[str, Any] | None, notes: list[str]) -> None:
    """A note unless the project is known to keep people who added commits from approving
    (hidden settings are not known to)."""
    if settings is None:
        may, why = "may let", "is unknown: the settings are hidden"
    elif settings.get("merge_requests_disable_committers_approval") is not True:
        may, why = "lets", "is off"
    else:
        return
    notes.append(
        f"the project {may} people who added commits approve the merge request "
        f"(merge_requests_disable_committers_approval {why}), and sopgate recognises "
        'contributors only through their e-mails; turn on "Prevent approvals by users '
        'who add commits" in Settings > Merge requests'
    )


def _parse(text: str | None, sop_path: str) -> Sop | None:
    """The SOP, only to learn which groups, evidence and environments to ask about. An
    invalid one is reported by the CLI when it loads the same text."""
    from sopgate.sop.load import parse_sop

    if text is None:
        return None
    try:
        return parse_sop(text, path=sop_path).sop
    except SopgateError:
        return None


def _starters(
    settings: Any, jobs: list[dict[str, Any]], notes: list[str]
) -> tuple[str | None, str | None]:
    """Who started this gate job, and who re-ran it.

    A retried job runs as whoever retried it (``GITLAB_USER_LOGIN``): after ``sopgate sync``
    retries a gate, that is the token's user. The initiator is the user of the first run of
    this job in the pipeline (the lowest job id with this name, retried runs included); the
    user of this run, when someone else, is ``rerun_by`` and excluded like the initiator. A
    token bot that re-ran the job (sopgate sync) is not recorded as ``rerun_by``: sync judged
    the re-run as started by the first run's user.
    """
    current = settings.initiator
    runs = [
        job
        for job in jobs
        if job.get("name") == settings.job_name and isinstance(job.get("id"), int)
    ]
    if not runs:
        return current, None
    first = min(runs, key=lambda job: int(job["id"]))
    user = first.get("user")
    name = user.get("username") if isinstance(user, dict) else None
    if not isinstance(name, str) or not name:
        return current, None
    starter = mapping.login(name)
    if current is None or mapping.fold(current) == mapping.fold(starter):
        return starter, None
    again = mapping.login(current)
    if again.lower().endswith("[bot]"):
        notes.append(
            f"{settings.job_name} was re-run by {again} (sopgate sync): judged as started "
            f"by {starter}"
        )
        return starter, None
    return starter, again
