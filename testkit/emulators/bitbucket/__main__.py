"""Run the emulator by hand.

python -m testkit.emulators.bitbucket --seed testkit/emulators/bitbucket/sample_seed.json --proxy-repo acme/widgets
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from .config import ProxyConfig, RateLimits
from .emulator import BitbucketEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testkit.emulators.bitbucket", description=__doc__)
    parser.add_argument("--seed", help="seed file (JSON); see sample_seed.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--proxy-repo", metavar="WORKSPACE/REPO", help="start the auth proxy for this repository")
    parser.add_argument("--proxy-port", type=int, default=0, help="port of the auth proxy (0 picks one)")
    parser.add_argument(
        "--proxy-allow",
        default="code_insights",
        help="comma-separated route families the proxy authorises (default: code_insights)",
    )
    parser.add_argument("--rate-limit", type=int, default=1000, help="requests per rolling hour per identity")
    parser.add_argument("--no-rate-limit", action="store_true", help="disable the rate limit")
    parser.add_argument("--id-seed", type=int, help="repeatable generated IDs")
    args = parser.parse_args(argv)

    proxy = None
    if args.proxy_repo:
        workspace, _, repo = args.proxy_repo.partition("/")
        allow = frozenset(part.strip() for part in args.proxy_allow.split(",") if part.strip())
        proxy = ProxyConfig(workspace, repo, host=args.host, port=args.proxy_port, allow=allow)
    emulator = BitbucketEmulator(
        host=args.host,
        port=args.port,
        proxy=proxy,
        rate_limits=None if args.no_rate_limit else RateLimits(limit=args.rate_limit),
        id_seed=args.id_seed,
    )
    if args.seed:
        emulator.load_seed(args.seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with emulator:
        print(f"Bitbucket emulator listening on {emulator.url}", flush=True)
        if proxy is not None:
            print(f"auth proxy on {emulator.proxy_url} for {proxy.workspace}/{proxy.repo_slug}", flush=True)
        for token in emulator.tokens:
            where = f"{token.workspace}/{token.repo_slug}" if token.repo_slug else token.workspace
            print(f"token {token.value} {where} scopes={','.join(sorted(token.scopes))}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
