"""Exact and near-duplicate texts: MinHash LSH (``datasketch``) proposes candidate pairs, the exact
Jaccard similarity of their word 3-gram sets confirms them, so a reported pair is never a hash
collision and a pair above the threshold is missed only with MinHash's small probability."""

from __future__ import annotations

from hpsearch.data._splits import duplicate_key

#: MinHash permutations: enough for thresholds of 0.7 and more, cheap on tens of thousands of texts.
NUM_PERM = 128
SHINGLE = 3


def shingles(text: str) -> set[bytes]:
    """Word 3-grams of the text, case and whitespace aside; a text shorter than that is one shingle."""
    words = duplicate_key(text).split()
    if len(words) < SHINGLE:
        return {" ".join(words).encode()}
    return {" ".join(words[i:i + SHINGLE]).encode() for i in range(len(words) - SHINGLE + 1)}


def near_clusters(texts: list[str], threshold: float) -> list[list[int]]:
    """Groups (two or more, sorted) of texts linked by a word 3-gram Jaccard similarity of at least
    `threshold`, exact duplicates included; linked means through a chain of such pairs."""
    from datasketch import MinHash, MinHashLSH

    sets = [shingles(t) for t in texts]
    same: dict[frozenset[bytes], list[int]] = {}
    for i, s in enumerate(sets):
        same.setdefault(frozenset(s), []).append(i)
    firsts = [members[0] for members in same.values()]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def link(a: int, b: int) -> None:
        parent[root(a)] = root(b)

    for members in same.values():
        for other in members[1:]:
            link(other, members[0])
    hashes = MinHash.bulk([sets[i] for i in firsts], num_perm=NUM_PERM, seed=1)
    # A lower LSH threshold than the one confirmed: fewer misses; the exact Jaccard weeds out the rest.
    lsh = MinHashLSH(threshold=max(0.5, threshold - 0.15), num_perm=NUM_PERM)
    for i, h in zip(firsts, hashes):
        lsh.insert(i, h)
    for i, h in zip(firsts, hashes):
        for other in lsh.query(h):
            if other > i and _jaccard(sets[i], sets[other]) >= threshold:
                link(i, other)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(root(i), []).append(i)
    return sorted(g for g in groups.values() if len(g) > 1)


def leaked_indices(train: list[str], held: list[str], threshold: float) -> set[int]:
    """Indices of `train` whose text is, exactly or nearly, one of `held` (validation and test)."""
    n = len(train)
    leaked: set[int] = set()
    for group in near_clusters([*train, *held], threshold):
        if any(i >= n for i in group):
            leaked.update(i for i in group if i < n)
    return leaked


def _jaccard(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0
