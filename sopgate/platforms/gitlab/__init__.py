"""GitLab: gather the facts of a pipeline's commit, publish the results to its MR.

Configured from GitLab CI's predefined variables (see :func:`from_env`); the token is a
project or group access token in ``GITLAB_TOKEN``. ``CI_JOB_TOKEN`` alone is refused: a job
token cannot read merge request approvals or notes, nor post notes or commit statuses.
The API URL must be ``https://`` (``http://`` only for loopback, or with
``SOPGATE_ALLOW_HTTP=1``); ``SOPGATE_API_TIMEOUT`` bounds each gather's requests in seconds.

``sopgate sync`` (:meth:`GitLabAdapter.for_sync`) syncs the merge request named by
``SOPGATE_MR_IID`` or the webhook event in ``TRIGGER_PAYLOAD``, at its head commit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sopgate.errors import PlatformError
from sopgate.facts import now_utc
from sopgate.platforms import Gathered
from sopgate.platforms.gitlab.client import Api, RetryPolicy
from sopgate.platforms.gitlab.gather import Gatherer
from sopgate.platforms.transport import GATHER_DEADLINE, budget_from_env, require_safe_api_url

if TYPE_CHECKING:
    from sopgate.evaluate import Evaluation
    from sopgate.sync import RunActors, RunRef

__all__ = ["GitLabAdapter", "RetryPolicy", "Settings", "from_env"]

_SHA = re.compile(r"^[0-9a-f]{40}$")
#: What names the merge request of a sync run, in this order.
SYNC_VARIABLES = ("SOPGATE_MR_IID", "TRIGGER_PAYLOAD", "CI_MERGE_REQUEST_IID")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What the adapter needs to know about the running pipeline; from :func:`from_env`."""

    server_url: str
    token: str = field(repr=False)  # never in a repr, a traceback's or anyone's
    project_id: str
    commit: str  # CI_COMMIT_SHA: what the pipeline checked out and runs on; sync: MR head
    project_path: str | None = None
    mr_iid: int | None = None
    source_sha: str | None = None  # merged-results pipelines: the MR head
    target_branch: str | None = None
    pipeline_id: int | None = None
    job_name: str | None = None
    job_url: str | None = None
    initiator: str | None = None
    project_dir: str | None = None
    budget: float = GATHER_DEADLINE  # SOPGATE_API_TIMEOUT: seconds for all requests of a gather
    ref_name: str | None = None  # CI_COMMIT_REF_NAME: the branch or tag the pipeline runs for
    branch: str | None = None  # CI_COMMIT_BRANCH: set on branch pipelines only
    tag: str | None = None  # CI_COMMIT_TAG: set on tag pipelines only
    #: A sync run: ``mr_iid`` is the MR it syncs, ``commit`` becomes the MR's head at gather.
    sync: bool = False


def _int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise PlatformError(f"{name}={value!r} is not a number")
    return int(value)


def settings_from_env(env: Mapping[str, str], *, token_env: str | None = None) -> Settings:
    """Read the predefined CI/CD variables; missing essentials raise :class:`PlatformError`."""
    token_name = token_env or "GITLAB_TOKEN"
    token = env.get(token_name, "").strip()
    if not token:
        if env.get("CI_JOB_TOKEN"):
            raise PlatformError(
                f"{token_name} is not set and CI_JOB_TOKEN cannot be used: a job token cannot "
                "read merge request approvals or notes, nor post notes or commit statuses. "
                "Create a project access token (role Developer, scope api) and store it as a "
                f"masked CI/CD variable named {token_name}"
            )
        raise PlatformError(
            f"{token_name} is not set: sopgate needs a GitLab project or group access token "
            "(role Developer, scope api) to read approvals and post results"
        )
    api_v4 = env.get("CI_API_V4_URL", "").strip().rstrip("/")
    server = api_v4.removesuffix("/api/v4") if api_v4 else env.get("CI_SERVER_URL", "").strip()
    missing = [
        name
        for name, value in (
            ("CI_API_V4_URL or CI_SERVER_URL", server),
            ("CI_PROJECT_ID", env.get("CI_PROJECT_ID", "")),
            ("CI_COMMIT_SHA", env.get("CI_COMMIT_SHA", "")),
        )
        if not value.strip()
    ]
    if missing:
        raise PlatformError(f"not in a GitLab CI job: {', '.join(missing)} not set")
    require_safe_api_url(
        server, env, platform="GitLab", name="CI_API_V4_URL" if api_v4 else "CI_SERVER_URL"
    )
    shas = {
        name: env.get(name, "").strip()
        for name in ("CI_COMMIT_SHA", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA")
    }
    for name, sha in shas.items():
        if sha and not _SHA.match(sha):
            raise PlatformError(f"{name}={sha!r} is not a 40-hex commit id")
    return Settings(
        server_url=server.rstrip("/"),
        token=token,
        project_id=env["CI_PROJECT_ID"].strip(),
        commit=shas["CI_COMMIT_SHA"],
        project_path=env.get("CI_PROJECT_PATH") or None,
        mr_iid=_int(env, "CI_MERGE_REQUEST_IID"),
        source_sha=shas["CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"] or None,
        target_branch=env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") or None,
        pipeline_id=_int(env, "CI_PIPELINE_ID"),
        job_name=env.get("CI_JOB_NAME") or None,
        job_url=env.get("CI_JOB_URL") or None,
        initiator=env.get("GITLAB_USER_LOGIN") or None,
        project_dir=env.get("CI_PROJECT_DIR") or None,
        budget=budget_from_env(env),
        ref_name=env.get("CI_COMMIT_REF_NAME") or None,
        branch=env.get("CI_COMMIT_BRANCH") or None,
        tag=env.get("CI_COMMIT_TAG") or None,
    )


class GitLabAdapter:
    """The :class:`~sopgate.platforms.Adapter` for GitLab CI."""

    name = "gitlab"

    def __init__(
        self,
        settings: Settings,
        *,
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = now_utc,
        workdir: str = ".",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        #: The variables that name the MR of a sync run (see :meth:`for_sync`).
        source = os.environ if env is None else env
        self._sync_env = {k: source[k] for k in SYNC_VARIABLES if k in source}
        self.api = Api(
            url=settings.server_url, token=settings.token, policy=policy, budget=settings.budget
        )
        self.workdir = workdir
        self._clock = clock
        self._gatherer = Gatherer(self.api, settings, clock=clock)

    def for_sync(self, env: Mapping[str, str] | None = None) -> None:
        """Make this adapter gather for ``sopgate sync``: the merge request named by
        ``SOPGATE_MR_IID``, else by the webhook event in ``TRIGGER_PAYLOAD`` (a merge request or
        note event), else ``CI_MERGE_REQUEST_IID``; at the MR's head commit, with no
        initiator. ``env`` defaults to the variables the adapter was made from (the
        process's when none were given). Raises :class:`~sopgate.errors.UsageError` when
        none names an MR. Once set for sync, later calls change nothing."""
        from sopgate.platforms.gitlab.sync import sync_settings

        if self.settings.sync:
            return
        self.settings = sync_settings(self.settings, self._sync_env if env is None else env)
        self._gatherer = Gatherer(self.api, self.settings, clock=self._clock)

    def gather(self, *, sop_path: str, sync: bool = False) -> Gathered:
        """Snapshot the facts of the pipeline's commit.

        The SOP in force is always read through the files API, never from the checkout
        (``sop_path`` only locates it in the repository): on a merge request pipeline the
        target branch's, whatever the MR's state; on the default branch or a protected
        branch or tag (as the API reports it) the one at the deployed commit; on any other
        ref the target branch's of a merge request holding the commit, else the default
        branch's. No readable SOP in force raises :class:`PlatformError` (exit 3).

        Requests, each listing read to its last page: the merge request (from
        ``CI_MERGE_REQUEST_IID``, or the ones containing the commit on branch pipelines),
        the ref (branch pipelines) or the project (its default branch, when no MR holds
        the commit), the SOP at two refs (in force, and the change's own) plus the target
        tree (and its folders') when the SOP in force is missing, the MR's approvals,
        notes (sign-offs), commits and diff versions (``change.pushed_at``, and whether a
        review approval came after the head was pushed), the project's approval settings,
        the pipeline's jobs and bridges, the commit's statuses, the repository tree (only
        when a step needs evidence), one member listing per group the SOPs name and, per
        environment of a step with a ``source: deployment`` rule, the first page of its
        deployments plus at most five of the commit's deployments. Their number does not
        depend on the number of steps, except one user search per distinct commit e-mail
        (cached for the run) and one read per evidence document with ``require`` (at most
        50). What GitLab will not tell (Free tier, hidden groups) becomes unknown (None or
        absent) with a line in ``facts.notes``; anything else raises
        :class:`PlatformError`. Approvals and the rest are read afresh on every call, so
        ``--wait`` sees new approvals. ``sync`` (``sopgate sync``, or :meth:`for_sync`
        before) gathers the merge request the sync run is about, at its head, with no
        initiator: the person whose comment started a sync run is not excluded for it (one
        more request: the MR, for its head). Each call has its
        own time budget for all its requests and retry sleeps (``SOPGATE_API_TIMEOUT``
        seconds, default 120).
        """
        self.api.restart_budget()
        if sync:
            self.for_sync()
        if self.settings.sync:
            from sopgate.platforms.gitlab.sync import at_head

            # The sync pipeline runs on the default branch: the change is the MR's head.
            self.settings = at_head(self.api, self.settings)
            self._gatherer = Gatherer(self.api, self.settings, clock=self._clock)
        return self._gatherer.gather(sop_path=sop_path, sync=self.settings.sync)

    def publish(self, evaluation: Evaluation, *, dry_run: bool) -> list[str]:
        """Update the sticky MR note (found by its ``<!-- sopgate -->`` marker), post the
        commit status ``sopgate/STEP`` on the pipeline, and write ``sopgate.env`` and
        ``sopgate-junit.xml`` to the working directory. Returns one line per publication;
        failures are lines too, never exceptions. ``dry_run`` writes nothing, anywhere."""
        from sopgate.platforms.gitlab.publish import Publisher

        self.api.restart_budget()
        publisher = Publisher(
            self.api, self.settings, workdir=self.workdir, mr=self._gatherer.last_mr
        )
        return publisher.publish(evaluation, dry_run=dry_run)

    # -- sopgate sync (see sopgate.sync.SyncAdapter) -------------------------------------

    def gate_run(self, url: str | None) -> RunRef | None:
        """The job a status ``target_url`` points at when it is exactly
        ``{server}/{CI_PROJECT_PATH}/-/jobs/{id}``; None for anything else. No request."""
        from sopgate.platforms.gitlab.sync import gate_job

        s = self.settings
        return gate_job(url, server_url=s.server_url, project_path=s.project_path)

    def run_actors(self, run: RunRef) -> RunActors:
        """Who started the job: ``GET /projects/:id/jobs/:job_id`` (one request)."""
        from sopgate.platforms.gitlab.sync import job_actors

        return job_actors(self.api, self.settings, run)

    def rerun(self, run: RunRef, *, dry_run: bool) -> str:
        """Retry the failed gate job, once (``POST /projects/:id/jobs/:job_id/retry``)."""
        from sopgate.platforms.gitlab.sync import retry_job

        return self._redact(retry_job(self.api, self.settings, run, dry_run=dry_run))

    def publish_sync(
        self, evaluation: Evaluation, *, keep: frozenset[str], dry_run: bool
    ) -> list[str]:
        """Update the sticky MR note and set one commit status ``sopgate/KEY`` per step but
        those in ``keep``, on the MR's head, each pointing at the MR (never at a job: a job
        URL is what marks a gate run to retry). Failures are lines, never exceptions."""
        from sopgate.platforms.gitlab.publish import Publisher

        if self.settings.sync and self._gatherer.last_mr is None:
            # Before a gather, settings.commit is still the sync pipeline's own commit.
            return ["MR note and commit statuses: not published, the MR head is not known yet"]
        publisher = Publisher(
            self.api, self.settings, workdir=self.workdir, mr=self._gatherer.last_mr
        )
        return publisher.publish_sync(evaluation, keep=keep, dry_run=dry_run)

    def _redact(self, text: str) -> str:
        token = self.settings.token
        return text.replace(token, "[token]") if token else text


def from_env(
    env: Mapping[str, str],
    *,
    token_env: str | None = None,
    policy: RetryPolicy | None = None,
    clock: Callable[[], datetime] = now_utc,
    workdir: str = ".",
    sync: bool = False,
) -> GitLabAdapter:
    """The adapter for the running GitLab CI job (see :func:`settings_from_env`); with
    ``sync``, for ``sopgate sync`` (see :meth:`GitLabAdapter.for_sync`)."""
    adapter = GitLabAdapter(
        settings_from_env(env, token_env=token_env),
        policy=policy,
        clock=clock,
        workdir=workdir,
        env=env,
    )
    if sync:
        adapter.for_sync(env)
    return adapter
