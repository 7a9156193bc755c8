"""`python -m pipe.release`: print release notes or their template context, for template authors
(and the benchmark). Imports only git, Jinja2 and the release package (no HTTP or pydantic).

    python -m pipe.release [--repo PATH] [--all | --latest] [--context] [--template FILE]
                           [--tag-pattern RE] [--tag TAG] [--version V] [--prerelease ID]
                           [--include-path GLOB]... [--exclude-path GLOB]... [--show-empty]
                           [--repo-url URL] [--key-pattern RE]

Exit codes: 0 printed, 2 bad input (template error, bad version, not a repository...).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from pipe.clients.git import GitRepo
from pipe.errors import UserError
from pipe.references import compile_key_pattern
from pipe.release.compose import latest_release, release_history
from pipe.release.config import TAG_PATTERN, ReleaseConfig
from pipe.release.links import Links


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with the terminal width found as `shutil.get_terminal_size` finds it,
    without importing shutil: argparse makes a formatter for every `add_argument`, and shutil (which
    imports bz2 and lzma) costs about 4 ms of the latest release's ~100 ms."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)


def _terminal_columns() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipe.release",
        description="Print release notes from git history.",
        formatter_class=_HelpFormatter,
    )
    p.add_argument("--repo", default=".", help="repository (default: the current directory)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--all", dest="all", action="store_true", default=True, help="every release (default)")
    which.add_argument("--latest", dest="all", action="store_false", help="only the latest (or unreleased) release")
    p.add_argument("--context", action="store_true", help="print the template context as JSON instead")
    p.add_argument("--template", help="template file, relative to the repository root (default: built-in)")
    p.add_argument("--tag-pattern", default=TAG_PATTERN, help="regex of release tag names")
    p.add_argument("--tag", help="release this tag (like BITBUCKET_TAG)")
    p.add_argument("--version", dest="version", help="version of the unreleased commits (like VERSION)")
    p.add_argument("--prerelease", help="make the unreleased version a pre-release, e.g. rc (like PRERELEASE)")
    p.add_argument("--include-path", action="append", default=[], help="only commits changing these paths (glob)")
    p.add_argument("--exclude-path", action="append", default=[], help="leave out commits changing only these")
    p.add_argument("--show-empty", action="store_true", help="print releases with nothing to show too")
    p.add_argument("--repo-url", help="web URL of the repository for links (default: from remote origin)")
    p.add_argument("--key-pattern", help="regex of record keys to find in commit messages (like KEY_PATTERN)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        text = run(args)
    except UserError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return exc.exit_code
    sys.stdout.write(text)
    return 0


def run(args: argparse.Namespace) -> str:
    config = _config(args)
    try:
        key_pattern = compile_key_pattern(args.key_pattern) if args.key_pattern else None
    except ValueError as exc:
        raise UserError(f"bad pattern: {exc}") from exc
    repo = GitRepo.open_plain(  # GitPython is not needed here, and slow to import
        args.repo,
        expect_tags=args.all,  # git lists these while the rest goes on
        expect_tag_targets=not args.all,
        expect_remote_url=None if args.repo_url else "origin",
    )
    template = None
    if not args.context:
        from pipe.release.render import load_template  # Jinja2 only when rendering

        # fail before reading history; the root only for a user template (`repo.root` imports pathlib)
        template = load_template(args.template, root=repo.root if args.template else None)
    if args.all:
        releases = release_history(
            repo, config=config, version=args.version, key_pattern=key_pattern, prerelease=args.prerelease
        )
    else:
        _, notes = latest_release(
            repo, config=config, tag=args.tag, version=args.version, key_pattern=key_pattern, prerelease=args.prerelease
        )
        releases = [notes]
    for warning in (w for release in releases for w in release.warnings):
        print(f"warning: {warning}", file=sys.stderr)
    links = Links(args.repo_url.rstrip("/")) if args.repo_url else Links.from_remote(repo.remote_url("origin"))
    if template is None:
        from pipe.release.context import build_context, context_json  # only for --context

        return context_json(build_context(releases, links=links, full_history=args.all))
    shown = [r for r in releases if config.publishes(r)]
    for release in releases:
        if not config.publishes(release):
            print(
                f"note: release {release.version} has no notable changes; left out (--show-empty prints it)",
                file=sys.stderr,
            )
    if not shown:
        return ""
    return template.render_releases(shown, links=links, full_history=args.all)


def _config(args: argparse.Namespace) -> ReleaseConfig:
    data: dict[str, object] = {"tag_pattern": args.tag_pattern, "show_empty_releases": args.show_empty}
    if args.include_path:
        data["include_paths"] = args.include_path
    if args.exclude_path:
        data["exclude_paths"] = args.exclude_path
    return ReleaseConfig.from_dict(data, where="options")  # a ConfigError lists every problem


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
