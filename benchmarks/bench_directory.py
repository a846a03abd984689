"""What the directory's size costs identifying the sender of each message.

    python -m benchmarks.bench_directory [--officers 2000] [--lookups 200000]

The same lookup (a Slack identity → the officer) in the example directory (the baseline) and
in one grown to ``--officers`` officers, in the same run. Lookups are maps built when the
directory is loaded, so the ratio should stay near 1.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.directory import load_directory
from flows.directory import Directory, Officer, SlackIdentity

ROOT = Path(__file__).resolve().parents[1]


def grown(base: Directory, officers: int) -> Directory:
    template = base.officers[0]
    extra = [
        template.model_copy(
            update={"id": f"officer.{n}", "slack": SlackIdentity(user=f"U{n:06d}", team="T1")}
        )
        for n in range(officers - len(base.officers))
    ]
    return Directory(
        organisations=base.organisations, officers=(*extra, *base.officers), spoc=base.spoc
    )


def per_lookup(directory: Directory, target: Officer, lookups: int) -> float:
    assert target.slack is not None
    user, team = target.slack.user, target.slack.team
    start = time.perf_counter()
    for _ in range(lookups):
        assert directory.by_platform("slack", user, team) is target
    return (time.perf_counter() - start) / lookups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=2000)
    parser.add_argument("--lookups", type=int, default=200_000)
    args = parser.parse_args()
    base = load_directory(ROOT / "directory.example.yaml")
    base = base.model_copy(
        update={
            "officers": tuple(
                o.model_copy(update={"slack": SlackIdentity(user=f"U{o.id}", team="T1")})
                for o in base.officers
            )
        }
    )
    large = grown(base, args.officers)
    target_small, target_large = base.officers[-1], large.officers[-1]
    small_t = per_lookup(base, target_small, args.lookups)
    large_t = per_lookup(large, target_large, args.lookups)
    print(f"sender lookup, {len(base.officers)} officers:   {small_t * 1e9:8.0f} ns  1.00x")
    print(
        f"sender lookup, {len(large.officers):,} officers: {large_t * 1e9:8.0f} ns"
        f"  {large_t / small_t:.2f}x"
    )


if __name__ == "__main__":
    main()
