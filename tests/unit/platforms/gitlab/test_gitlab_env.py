"""Configuration from GitLab CI's predefined variables."""

from __future__ import annotations

import pytest

from sopgate.errors import PlatformError
from sopgate.platforms.gitlab import from_env, settings_from_env
from tests.unit.platforms.gitlab.gitlab_fixtures import HEAD, MERGE, TOKEN, Situation


def test_settings_from_a_merged_results_pipeline() -> None:
    env = Situation(merged_results=True).env()
    settings = settings_from_env(env)
    assert settings.server_url == "https://gitlab.example.com"
    assert settings.commit == MERGE
    assert settings.source_sha == HEAD
    assert settings.mr_iid == 42
    assert settings.pipeline_id == 99
    assert settings.initiator == "ian"
    assert settings.token == TOKEN


def test_self_managed_under_a_relative_path() -> None:
    env = {**Situation().env(), "CI_API_V4_URL": "https://git.corp.example/gitlab/api/v4"}
    assert settings_from_env(env).server_url == "https://git.corp.example/gitlab"


def test_server_url_when_the_api_url_is_absent() -> None:
    env = Situation().env("http://127.0.0.1:8080")
    del env["CI_API_V4_URL"]
    assert settings_from_env(env).server_url == "http://127.0.0.1:8080"


def test_only_a_job_token_fails_closed_and_says_why() -> None:
    env = Situation().env()
    del env["GITLAB_TOKEN"]
    with pytest.raises(PlatformError) as raised:
        from_env(env)
    assert raised.value.exit_code == 3
    assert str(raised.value) == (
        "GITLAB_TOKEN is not set and CI_JOB_TOKEN cannot be used: a job token cannot read "
        "merge request approvals or notes, nor post notes or commit statuses. Create a "
        "project access token (role Developer, scope api) and store it as a masked CI/CD "
        "variable named GITLAB_TOKEN"
    )


def test_token_env_names_another_variable() -> None:
    env = Situation().env()
    env["SOPGATE_TOKEN"] = env.pop("GITLAB_TOKEN")
    assert settings_from_env(env, token_env="SOPGATE_TOKEN").token == TOKEN
    with pytest.raises(PlatformError, match=r"^SOPGATE_TOKEN is not set"):
        settings_from_env({**env, "SOPGATE_TOKEN": ""}, token_env="SOPGATE_TOKEN")


def test_outside_gitlab_ci() -> None:
    with pytest.raises(PlatformError) as raised:
        settings_from_env({"GITLAB_TOKEN": TOKEN})
    assert str(raised.value) == (
        "not in a GitLab CI job: CI_API_V4_URL or CI_SERVER_URL, CI_PROJECT_ID, "
        "CI_COMMIT_SHA not set"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CI_COMMIT_SHA", "abc", "CI_COMMIT_SHA='abc' is not a 40-hex commit id"),
        ("CI_MERGE_REQUEST_IID", "x1", "CI_MERGE_REQUEST_IID='x1' is not a number"),
    ],
)
def test_malformed_variables(name: str, value: str, message: str) -> None:
    with pytest.raises(PlatformError) as raised:
        settings_from_env({**Situation().env(), name: value})
    assert str(raised.value) == message


def test_empty_merged_results_sha_means_none() -> None:
    env = {**Situation().env(), "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": ""}
    assert settings_from_env(env).source_sha is None
