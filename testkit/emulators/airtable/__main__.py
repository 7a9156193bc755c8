"""Run the emulator by hand::

    python -m testkit.emulators.airtable --seed testkit/emulators/airtable/sample_seed.json

Prints the URL and the seeded tokens, then serves until Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from .emulator import AirtableEmulator


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m testkit.emulators.airtable",
        description="Local emulator of the Airtable Web API v0.",
    )
    parser.add_argument("--seed", help="seed JSON file (tokens, bases, tables, records)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--no-rate-limit", action="store_true", help="turn both rate limits off")
    parser.add_argument("--rate-limit-per-base", type=int, default=5)
    parser.add_argument("--rate-limit-per-token", type=int, default=50)
    parser.add_argument("--penalty-seconds", type=float, default=30.0)
    parser.add_argument("--retry-after", action="store_true", help="send Retry-After on 429")
    parser.add_argument("--lockout-key", choices=("base", "token"), default="base")
    parser.add_argument("--id-seed", type=int, default=None, help="make generated IDs repeatable")
    parser.add_argument(
        "--latency", type=latency_range, default=None, metavar="LOW:HIGH", help="random seconds before each request"
    )
    return parser.parse_args(argv)


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


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    emulator = AirtableEmulator(
        host=args.host,
        port=args.port,
        rate_limit_per_base=None if args.no_rate_limit else args.rate_limit_per_base,
        rate_limit_per_token=None if args.no_rate_limit else args.rate_limit_per_token,
        penalty_seconds=args.penalty_seconds,
        retry_after_on_429=args.retry_after,
        lockout_key=args.lockout_key,
        id_seed=args.id_seed,
        latency=args.latency,
    )
    if args.seed:
        emulator.load_seed(args.seed)
    if not emulator.tokens:
        emulator.add_token()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with emulator:
        print(f"Airtable emulator listening on {emulator.url}", flush=True)
        for token in emulator.tokens:
            print(f"token: {token}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.2):
            pass
    print("Airtable emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
