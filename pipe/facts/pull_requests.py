"""The pull requests a merge run's records came through, read from Bitbucket with BITBUCKET_ACCESS_TOKEN.

Which pull request merged a record is known from git: the release-notes entries (pipe.release.entries) carry
the number of the pull request that introduced each commit, from Bitbucket's merge subject
(`Merged in <branch> (pull request #N)`) or a squash suffix (`(pull request #N)`), with the references of
the commit and of its merge commit. The pull request itself (its state, its web link) is then read once per
number, so the records' `pull_request_state` says what Bitbucket says (MERGED), not what the pipe assumes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pipe.clients.bitbucket import BitbucketClient, BitbucketError
from pipe.config.settings import Settings
from pipe.facts.run_facts import PullRequestFacts
from pipe.model import CommitRange, Stage
from pipe.release.entries import build_entries

log = logging.getLogger("pipe")

MAX_PULL_REQUESTS = 20  # read per run at most; a release merging more leaves the older ones' state unwritten


def pull_requests_of_references(commit_range: CommitRange, settings: Settings) -> dict[str, int]:
    """Reference value (record ID or key) -> number of the newest pull request that brought it in."""
    entries = build_entries(
        commit_range.commits, head=commit_range.head, key_pattern=settings.airtable.key_pattern
    ).entries
    found: dict[str, int] = {}
    for entry in entries:  # newest first: the newest pull request wins
        if entry.pr_number is None:
            continue
        for reference in entry.references:
            found.setdefault(reference.value, entry.pr_number)
    return found


def merged_pull_requests(
    client: BitbucketClient | None, stage: Stage, commit_range: CommitRange, settings: Settings
) -> Mapping[str, PullRequestFacts]:
    """At merge, with a token and a `pull_request_state` field: each reference's pull request as Bitbucket has it."""
    if stage is not Stage.MERGE or not settings.airtable.fields.pull_request_state:
        return {}
    by_reference = pull_requests_of_references(commit_range, settings)
    if not by_reference:
        return {}
    if client is None:
        log.info("Pull-request state not read: BITBUCKET_ACCESS_TOKEN is not set")
        return {}
    numbers = list(dict.fromkeys(by_reference.values()))
    if len(numbers) > MAX_PULL_REQUESTS:
        log.warning(
            "This release merges %d pull requests; the state of the newest %d is read and written",
            len(numbers),
            MAX_PULL_REQUESTS,
        )
    read: dict[int, PullRequestFacts] = {}
    for number in numbers[:MAX_PULL_REQUESTS]:
        try:
            found = client.pull_request(number)
        except BitbucketError as exc:
            log.warning("Pull-request state not read: %s", exc)
            break
        if found is None:
            log.warning(
                "Pull request #%d was not found in %s (deleted?); its state is not written",
                number,
                client.repo_full_name,
            )
            continue
        html = ((found.get("links") or {}).get("html") or {}).get("href")
        read[number] = PullRequestFacts(number, str(found.get("state") or "") or None, html)
    return {value: read[number] for value, number in by_reference.items() if number in read}
