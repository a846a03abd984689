"""Development key files: several processes starting at once in one data folder all end up
with the same whole key (the CI failure behind this: one replica read the file another had
created but not yet written, and refused to start)."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

from store.blind_index import load_index
from store.crypto import generate_key, load_cipher
from store.key_file import read_or_create

STARTERS = 8
ROUNDS = 25


def _start(
    folder: str, barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue[str]
) -> None:
    barrier.wait()
    try:
        index = load_index({}, Path(folder), "development")
        cipher, _ = load_cipher({}, Path(folder), "development")
        key_id = cipher.seal({"a": 1}, "x").split(".")[1]  # g1.<key id>.<sealed>
        out.put(f"{index.digest('Example', '1990-01-01')}|{key_id}")
    except Exception as error:  # reported to the test, which fails on it
        out.put(f"error: {error}")


def test_processes_starting_together_share_one_whole_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("forkserver")
    for round_ in range(ROUNDS):
        folder = tmp_path / f"data{round_}"
        barrier = context.Barrier(STARTERS)
        out: multiprocessing.Queue[str] = context.Queue()
        starters = [
            context.Process(target=_start, args=(str(folder), barrier, out))
            for _ in range(STARTERS)
        ]
        for process in starters:
            process.start()
        answers = [out.get(timeout=30) for _ in starters]
        for process in starters:
            process.join(timeout=30)
        assert not [answer for answer in answers if answer.startswith("error")], answers
        assert len({answer.split("|")[0] for answer in answers}) == 1, answers  # index key
        assert len({answer.split("|")[1] for answer in answers}) == 1, answers  # encryption key
        key_file = (folder / "index.key").read_text().strip()
        assert (
            load_index({"OOHBOT_INDEX_KEY": key_file}, folder, "production").digest(
                "Example", "1990-01-01"
            )
            == answers[0].split("|")[0]
        )
        assert sorted(path.name for path in folder.iterdir()) == ["encryption.key", "index.key"]


def test_the_loser_of_a_race_uses_the_winners_key(tmp_path: Path) -> None:
    path = tmp_path / "index.key"
    won: list[str] = []

    def generate_while_another_wins() -> str:
        key, created = read_or_create(path, generate_key)  # another starter, first to link
        assert created
        won.append(key)
        return generate_key()

    key, created = read_or_create(path, generate_while_another_wins)
    assert (key, created) == (won[0], False)
    assert path.read_text().strip() == won[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["index.key"]  # no temporary left behind
