"""Run the emulator by hand: `python -m testkit.emulators.coda --seed testkit/emulators/coda/sample_seed.json`."""

from __future__ import annotations

import argparse
import contextlib
import secrets
import signal
import sys
import threading
from typing import Any

from .emulator import CodaEmulator


def parse_options(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict[str, Any]]:
    """The parsed command line and the `CodaEmulator` keyword options it asks for."""
    parser = argparse.ArgumentParser(prog="python -m testkit.emulators.coda", description=__doc__)
    parser.add_argument("--seed", help="seed file (JSON); see sample_seed.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--mutation-delay", type=float, default=2.0, help="seconds before a write is applied")
    parser.add_argument(
        "--read-lag", type=float, default=0.0, help="seconds an applied write then stays invisible to reads"
    )
    parser.add_argument(
        "--mutation-jitter", type=float, default=0.0, help="up to this many seconds more per write, at random"
    )
    parser.add_argument(
        "--latency", type=latency_range, default=None, metavar="LOW:HIGH", help="random seconds before each request"
    )
    parser.add_argument("--no-rate-limit", action="store_true", help="disable the rate limits")
    parser.add_argument("--unknown-column", choices=("400", "warning"), default="400")
    parser.add_argument(
        "--query-booleans",
        choices=("lenient", "strict"),
        default="lenient",
        help="lenient: true/false in any case and 1/0; strict: only true/false",
    )
    parser.add_argument(
        "--rule-off",
        choices=("422", "accepted"),
        default="422",
        help="a webhook to an automation rule that is off: 422, or accepted (202) and never run",
    )
    parser.add_argument("--token", help="register this token (default: a random one if the seed has none)")
    parser.add_argument("--id-seed", type=int, help="repeatable generated IDs")
    args = parser.parse_args(argv)

    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "mutation_delay": args.mutation_delay,
        "read_lag": args.read_lag,
        "mutation_jitter": args.mutation_jitter,
        "latency": args.latency,
        "unknown_column": args.unknown_column,
        "query_booleans": args.query_booleans,
        "rule_off": args.rule_off,
        "id_seed": args.id_seed,
    }
    if args.no_rate_limit:
        options["rate_limits"] = None
    return args, options


def latency_range(text: str) -> tuple[float, float]:
    """`0.01:0.2` (or one number) -> (0.01, 0.2)."""
    low, _, high = text.partition(":")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW:HIGH seconds, got {text!r}") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"expected 0 <= LOW <= HIGH, got {text!r}")
    return bounds


def main(argv: list[str] | None = None) -> int:
    args, options = parse_options(argv)
    emulator = CodaEmulator.from_seed(args.seed, **options) if args.seed else CodaEmulator(**options)
    if args.token or not emulator.tokens:
        emulator.add_token(args.token or f"emulator-{secrets.token_hex(16)}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with emulator:
        print(f"Coda emulator listening on {emulator.url}", flush=True)
        for token in emulator.tokens:
            scope = f" doc={token.doc_id}" if token.doc_id else ""
            print(f"token {token.value} owner={token.owner} access={token.access}{scope}", flush=True)
        for doc_id, doc in emulator.backend.world.docs.items():
            print(f"doc {doc_id} {doc.name!r} tables={[t.id for t in doc.tables.values()]}", flush=True)
            for rule in doc.automations.values():
                state = "on" if rule.enabled else "off"
                url = f"{emulator.url}/docs/{doc_id}/hooks/automation/{rule.id}"
                print(f"  automation {rule.id} {rule.name!r} ({state}): {url}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
