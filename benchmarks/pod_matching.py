"""Pod matching at scale: `match()` over N waiting people and some pods with room.

    uv run python benchmarks/pod_matching.py [--people 10000] [--pods 300] [--seed 1]
                                             [--ranged 0.33]

Times Tend's matcher (time zones within ±3 h, goals, experience balance, style, strengths and
needs, new pods for the rest; a share `--ranged` of the pods has a target time-zone range of
±1 h around its own offset) and, in the same run, a baseline that only sorts people by
offset and goal and cuts them into groups of six (no scoring). Prints both times, the ratio,
and checks the result: everyone placed, no pod over its room, no one more than 3 h from
their pod nor outside its range. Target: 10,000 people in ≤ 10 s.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.settings")
os.environ.setdefault("TEND_SECRET_KEY", "benchmark-secret-key-not-for-production")
django.setup()

from tend.community.services.matching import Person, Slot, match  # noqa: E402

OFFSETS = [-480, -420, -360, -300, -240, 0, 60, 120, 180, 240, 270, 330, 480, 540, 600]
GOALS = ["health", "business", "learning", "relationships", "creative", ""]
LEVELS = ["BEGINNER", "INTERMEDIATE", "ADVANCED", ""]
STYLES = ["SUPPORTIVE", "DIRECT", "MIXED", ""]
SKILLS = ["marketing", "discipline", "tech", "writing", "sales", "fitness", "design",
          "time management", "motivation", "focus", "planning", "confidence"]


def world(n: int, pods: int, seed: int, ranged: float = 0.0
          ) -> tuple[list[Person], list[Slot]]:
    rng = random.Random(seed)  # noqa: S311 (sample data)
    people = [Person(id=f"{i:06}", name=f"P{i}", offset=rng.choice(OFFSETS), time_zone="X",
                     goal=rng.choice(GOALS), level=rng.choice(LEVELS),
                     style=rng.choice(STYLES),
                     strengths=frozenset(rng.sample(SKILLS, 2)),
                     needs=frozenset(rng.sample(SKILLS, 2))) for i in range(n)]
    slots = []
    for i in range(pods):
        slot = Slot(key=f"pod-{i:05}", offset=rng.choice(OFFSETS), time_zone="X",
                    room=rng.randint(1, 4), goal=rng.choice(GOALS))
        for _ in range(6 - slot.room):
            slot.add(Person(id=f"m{i}", name="", offset=slot.offset, time_zone="X",
                            goal=slot.goal, level=rng.choice(LEVELS), style=rng.choice(STYLES),
                            strengths=frozenset(rng.sample(SKILLS, 2)),
                            needs=frozenset(rng.sample(SKILLS, 1))))
        slot.members = []
        if ranged and rng.random() < ranged:
            slot.lo, slot.hi = slot.offset - 60, slot.offset + 60
        slots.append(slot)
    return people, slots


def baseline(people: list[Person]) -> list[list[str]]:
    ordered = sorted(people, key=lambda p: (p.offset, p.goal, p.id))
    return [[p.id for p in ordered[i:i + 6]] for i in range(0, len(ordered), 6)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--pods", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ranged", type=float, default=0.0,
                        help="share of pods with a target time-zone range (0 to 1)")
    args = parser.parse_args()
    people, slots = world(args.people, args.pods, args.seed, args.ranged)
    ranges = {s.key: (s.lo, s.hi) for s in slots}
    room = {s.key: s.room for s in slots}
    offsets = {s.key: s.offset for s in slots}
    started = time.perf_counter()
    result = match(people, slots)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    baseline(people)
    base = time.perf_counter() - started
    by_person = {p.id: p for p in people}
    placed: dict[str, int] = {}
    for a in result["assignments"]:
        placed[a["pod"]] = placed.get(a["pod"], 0) + 1
        if a["pod"] in offsets:
            offset = by_person[a["contact_id"]].offset
            assert abs(offsets[a["pod"]] - offset) <= 180
            lo, hi = ranges[a["pod"]]
            assert (lo is None or offset >= lo) and (hi is None or offset <= hi)
    assert len(result["assignments"]) == len(people)
    assert all(placed[k] <= room[k] for k in placed if k in room)
    print(f"people={args.people} pods_with_room={args.pods} ranged={args.ranged} "
          f"new_pods={len(result['new_pods'])}")
    print(f"tend match: {ours:.2f} s   baseline sort-and-chunk: {base:.3f} s   "
          f"ratio {ours / base:.0f}x   target <= 10 s: {'OK' if ours <= 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
