#!/usr/bin/env python3
"""Generate extra random consumer groups, one per seed.

usage: gen_extra.py OUT.jsonl [FIRST_SEED [COUNT [large]]]
Defaults: seeds 20261208000 .. 20261208299 (300 cases), one random.Random(seed)
per case, so each case can be regenerated from its seed alone. With "large"
(used for seeds 20261210000 .. 20261210039): 10-30 members c1..cN and 4-10
topics a..j of 1-40 partitions each, otherwise the same shape.

Shape (emphasis on equal subscriptions, about two thirds):
  * 2-6 members c1..cN; 1-4 topics a,b,c,d (a prefix of that list), 1-8
    partitions each.
  * "equal": every member subscribes to the same topics (usually all of them,
    sometimes a random non-empty subset); "mixed": each member a random
    non-empty subset.
  * prior ownership: some members own nothing (generation -1); the others have
    generation 1-3 (sometimes all the same) and own a random share of a random
    previous assignment (which may give a member partitions of a topic it no
    longer subscribes to); sometimes partitions are claimed by two members
    (copies of other owners' partitions: equal or different generations),
    sometimes a claim names a partition beyond the topic's partition count.
"""
import json
import random
import sys

TOPICS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]


def gen_case(seed, large=False):
    rng = random.Random(seed)
    if large:
        n_members = rng.randint(10, 30)
        n_topics = rng.randint(4, 10)
        topics = {t: rng.randint(1, 40) for t in TOPICS[:n_topics]}
    else:
        n_members = rng.randint(2, 6)
        n_topics = rng.randint(1, 4)
        topics = {t: rng.randint(1, 8) for t in TOPICS[:n_topics]}
    names = list(topics)
    members = ["c%d" % (i + 1) for i in range(n_members)]

    equal = rng.random() < 2.0 / 3.0
    if equal:
        if rng.random() < 0.75:
            sub = list(names)
        else:
            sub = sorted(rng.sample(names, rng.randint(1, len(names))))
        subs = {m: list(sub) for m in members}
    else:
        subs = {m: sorted(rng.sample(names, rng.randint(1, len(names))))
                for m in members}

    # who had an assignment before, and with which generation
    p_fresh = rng.choice([0.0, 0.2, 0.4, 0.7])
    owners = [m for m in members if rng.random() >= p_fresh]
    if not owners and rng.random() < 0.8:
        owners = [rng.choice(members)]
    same_gen = rng.random() < 0.3
    g0 = rng.randint(1, 3)
    gen = {m: -1 for m in members}
    for m in owners:
        gen[m] = g0 if same_gen else rng.randint(1, 3)

    owned = {m: set() for m in members}
    if owners:
        p_none = rng.choice([0.0, 0.1, 0.3])      # partitions nobody claims
        p_stale = rng.choice([0.0, 0.1, 0.25])     # owner ignores subscription
        for t, n in topics.items():
            for p in range(n):
                if rng.random() < p_none:
                    continue
                cands = [m for m in owners if t in subs[m]]
                if not cands or rng.random() < p_stale:
                    cands = owners
                owned[rng.choice(cands)].add((t, p))
        # double claims
        if len(owners) >= 2 and rng.random() < 0.35:
            for _ in range(rng.randint(1, 3)):
                src, dst = rng.sample(owners, 2)
                if owned[src]:
                    owned[dst].add(rng.choice(sorted(owned[src])))
        # claims beyond the partition count
        if rng.random() < 0.15:
            m = rng.choice(owners)
            t = rng.choice(names)
            owned[m].add((t, topics[t] + rng.randint(0, 2)))
        # a member that had an assignment may have lost all of it
        for m in owners:
            if rng.random() < 0.1:
                owned[m] = set()

    return {
        "seed": seed,
        "profile": "equal" if equal else "mixed",
        "topics": topics,
        "members": [{"id": m,
                     "topics": subs[m],
                     "generation": gen[m],
                     "owned": ["%s-%d" % tp for tp in sorted(owned[m])]}
                    for m in members],
    }


def main():
    out = sys.argv[1]
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 20261208000
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    large = len(sys.argv) > 4 and sys.argv[4] == "large"
    with open(out, "w") as f:
        for seed in range(first, first + count):
            print("seed", seed)
            f.write(json.dumps(gen_case(seed, large), separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
