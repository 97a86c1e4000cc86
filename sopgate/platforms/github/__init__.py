"""The GitHub adapter: gather facts from GitHub's REST API, publish results to Actions.

Configured only from the environment GitHub Actions provides (``GITHUB_API_URL``,
``GITHUB_REPOSITORY``, ``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH``, ``GITHUB_SHA``, ...), so
it works the same on github.com, GitHub Enterprise Server and a local stub server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from sopgate.errors import PlatformError
from sopgate.facts import now_utc
from sopgate.platforms import Gathered
from sopgate.platforms.github.api import Api, RetryPolicy
from sopgate.platforms.github.gather import Found, Gatherer, Settings
from sopgate.platforms.github.publish import Publisher
from sopgate.platforms.github.sync import NothingToSync, Syncer, gate_run, nothing_to_sync
from sopgate.platforms.transport import GATHER_DEADLINE, budget_from_env, require_safe_api_url

if TYPE_CHECKING:
    from sopgate.evaluate import Evaluation
    from sopgate.sync import RunActors, RunRef

__all__ = ["GitHubAdapter", "RetryPolicy", "Settings", "from_env", "settings_from_env"]

DEFAULT_API_URL = "https://api.github.com"


def _markdown(evaluation: Evaluation) -> str:
    from sopgate.render import render

    text: str = render("markdown", evaluation)
    return text


@dataclass
class GitHubAdapter:
    """Gathers :class:`~sopgate.facts.Facts` from GitHub and publishes results.

    One instance keeps an ETag cache, so repeated :meth:`gather` calls (``check --wait``)
    use conditional requests: unchanged listings answer ``304`` and cost no rate limit.
    """

    settings: Settings
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    deadline: float = GATHER_DEADLINE
    clock: Callable[[], datetime] = now_utc
    markdown: Callable[[Evaluation], str] = _markdown
    name: str = "github"
    api: Api = field(init=False)
    found: Found | None = field(default=None, init=False)
    _syncer: Syncer | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.api = Api(
            self.settings.api_url, self.settings.token, retry=self.retry, deadline=self.deadline
        )

    def __repr__(self) -> str:
        return f"GitHubAdapter(repository={self.settings.repository!r})"

    def gather(self, *, sop_path: str) -> Gathered:
        """Snapshot the facts of the deployed commit.

        The deployed commit is the pull request's head on pull request events (and on
        ``issue_comment``, ``check_run``, ``check_suite`` and ``workflow_run`` about a pull
        request: never ``GITHUB_SHA``, the default branch's there), the event's ``head_sha``
        on those three when they name no pull request, else ``GITHUB_SHA`` (whose pull
        request is found through the commit's pulls). The SOP in
        force (``sop_text``) is always read through the API, never from the checkout (see
        :mod:`.sop_source`); the change's own version is ``proposed_sop_text`` when it
        differs, and ``sop_deleted`` says the change deletes or moves it. Approvals come in
        GitHub's order: reviews, sign-off comments, then deployment approvals; checks are
        check runs then the latest commit status per context. A team GitHub will not list
        is ``None`` in ``groups`` with a note. The initiator is ``GITHUB_ACTOR`` of a gate
        run and None on sync events. The request count does not depend on the number of
        steps, except one contents read per evidence document a ``require`` reads.

        Raises :class:`~sopgate.errors.PlatformError` when GitHub cannot be asked or
        answers unusably (after bounded retries), or not within ``deadline`` seconds.
        """
        self.api.begin()
        gatherer = Gatherer(self.api, self.settings, self.clock)
        gathered, self.found = gatherer.gather(sop_path)
        self._syncer = None
        return gathered

    def job_names(self) -> tuple[str, ...]:
        """The names the current job goes by, for ``check`` without STEP: its id
        (``GITHUB_JOB``) and its display name, the name of its check run
        (``SOPGATE_CHECK_RUN_ID``, which the action sets from ``job.check_run_id``; one
        request). A check run GitHub will not show (403/404) adds no name."""
        names = [self.settings.job or ""]
        run = self.settings.check_run_id
        if run:
            page = self.api.get(
                f"/repos/{self.settings.repository}/check-runs/{quote(run, safe='')}",
                allow=frozenset({403, 404}),
            )
            name = page.data.get("name") if isinstance(page.data, dict) else None
            names.append(name if isinstance(name, str) else "")
        return tuple(dict.fromkeys(n for n in names if n))

    def publish(self, evaluation: Evaluation, *, dry_run: bool) -> list[str]:
        """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY``, write ``decision``,
        ``step`` and ``state`` to ``$GITHUB_OUTPUT``, set the commit status
        ``sopgate/STEP`` and create or update the one comment marked ``<!-- sopgate -->`` on
        the pull request (unless ``SOPGATE_COMMENT=false``).

        Returns one line per publication; ``::error file=...,line=N::`` annotations for the
        blocking steps are among them and must be printed on stdout as they are. With
        ``dry_run`` nothing is written and the lines say what would be. Failures are
        returned as lines, never raised.
        """
        self.api.begin()
        publisher = Publisher(self.settings, self.api, self.markdown)
        return publisher.publish(evaluation, self.found, dry_run=dry_run)

    # -- sopgate sync (sopgate.sync.SyncAdapter) -------------------------------------------------

    def for_sync(self) -> None:
        """Called by ``sopgate sync`` before it gathers: raises :class:`NothingToSync` (exit 0,
        no request) when the event concerns no pull request of this repository."""
        reason = nothing_to_sync(self.settings)
        if reason is not None:
            raise NothingToSync(reason)

    def gate_run(self, url: str | None) -> RunRef | None:
        """The workflow run of this repository a status's ``target_url`` points at."""
        return gate_run(self.settings, url)

    def run_actors(self, run: RunRef) -> RunActors:
        """Who started ``run`` (``GET .../actions/runs/{id}``)."""
        return self._sync().run_actors(run)

    def rerun(self, run: RunRef, *, dry_run: bool) -> str:
        """``POST .../actions/runs/{id}/rerun-failed-jobs``, once; failures are lines."""
        return self._sync().rerun(run, dry_run=dry_run)

    def publish_sync(
        self, evaluation: Evaluation, *, keep: frozenset[str], dry_run: bool
    ) -> list[str]:
        """The sticky comment and one status ``sopgate/KEY`` per step not in ``keep``."""
        return self._sync().publish_sync(evaluation, keep=keep, dry_run=dry_run)

    def _sync(self) -> Syncer:
        if self._syncer is None:
            self.api.begin()  # the sync's requests and writes get their own deadline
            publisher = Publisher(self.settings, self.api, self.markdown)
            self._syncer = Syncer(self.settings, self.api, publisher, self.found)
        return self._syncer


def settings_from_env(env: Mapping[str, str], *, token_env: str | None = None) -> Settings:
    """Read the GitHub Actions context; missing essentials raise PlatformError (exit 3), as
    do an API URL that would carry the token in clear text (``http://`` to a host that is
    not loopback, unless ``SOPGATE_ALLOW_HTTP=1``) and an event payload that is not a JSON
    object."""
    api_url = env.get("GITHUB_API_URL") or DEFAULT_API_URL
    require_safe_api_url(api_url, env, platform="GitHub", name="GITHUB_API_URL")
    repository = env.get("GITHUB_REPOSITORY", "")
    if repository.count("/") != 1:
        raise PlatformError(
            "GITHUB_REPOSITORY must be set to OWNER/REPO "
            f"(got {repository!r}); run inside GitHub Actions or set it"
        )
    token_name = token_env or "GITHUB_TOKEN"
    token = env.get(token_name) or None
    if token is None:
        raise PlatformError(
            f"no GitHub token: ${token_name} is empty or unset "
            "(pass token: ${{ github.token }} or --token-env NAME)"
        )
    event: dict[str, object] = {}
    event_path = env.get("GITHUB_EVENT_PATH")
    if event_path:
        try:
            with open(event_path, encoding="utf-8") as handle:
                loaded = json.load(handle)
        except (OSError, ValueError) as exc:
            raise PlatformError(
                f"cannot read the event payload $GITHUB_EVENT_PATH "
                f"({event_path}): {type(exc).__name__}"
            ) from None
        if not isinstance(loaded, dict):
            raise PlatformError(
                f"the event payload $GITHUB_EVENT_PATH ({event_path}) is not a JSON object: refused"
            )
        event = loaded
    return Settings(
        api_url=api_url,
        repository=repository,
        event_name=env.get("GITHUB_EVENT_NAME", ""),
        event=event,
        sha=env.get("GITHUB_SHA", ""),
        job=env.get("GITHUB_JOB") or None,
        actor=env.get("GITHUB_ACTOR") or None,
        workspace=env.get("GITHUB_WORKSPACE") or os.getcwd(),
        server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
        run_id=env.get("GITHUB_RUN_ID") or None,
        comment=env.get("SOPGATE_COMMENT", "true").strip().lower() not in ("false", "0", "no"),
        token=token,
        ref=env.get("GITHUB_REF", ""),
        triggering_actor=env.get("GITHUB_TRIGGERING_ACTOR") or None,
        check_run_id=env.get("SOPGATE_CHECK_RUN_ID") or None,
    )


def from_env(
    env: Mapping[str, str], *, token_env: str | None = None, retry: RetryPolicy | None = None
) -> GitHubAdapter:
    """The adapter for the current GitHub Actions run (see :func:`settings_from_env`).

    ``SOPGATE_API_TIMEOUT`` (seconds, default 120) bounds each gather and each publish:
    every request, transfer and retry pause included.
    """
    settings = settings_from_env(env, token_env=token_env)
    return GitHubAdapter(settings, retry=retry or RetryPolicy(), deadline=budget_from_env(env))
