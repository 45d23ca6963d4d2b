"""Which unlabeled photos teach the model most: scores per photo, arrays in and arrays out.

Every scorer returns one float per candidate, higher meaning "ask for this label sooner".
The platform (``apps.labeling.queue``) decides which photos are candidates and in which
share each strategy is served; nothing here knows about users or the database.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

UNCERTAINTY = "uncertainty"  # smallest margin between the two most probable classes
DISAGREEMENT = "disagreement"  # the labels already given conflict
ANOMALY = "anomaly"  # far from the other photos: unusual, worth a look
DIVERSE = "diverse"  # typical photos of regions no label covers yet: a cold start with no model
RANDOM = "random"
MIX = "mix"  # the strategies above taken in turn
STRATEGIES = (MIX, UNCERTAINTY, DISAGREEMENT, ANOMALY, DIVERSE, RANDOM)
# The order the mix takes its strategies in, per round of the queue.
MIX_ROUND = (UNCERTAINTY, DIVERSE, DISAGREEMENT, UNCERTAINTY, RANDOM)
# What bench/label_bench.py measured on the served pipeline: each strategy's paired gain over random.
LABEL_EFFICIENCY_FILE = Path(__file__).parent / "data" / "label_efficiency.json"
# The order a new project labels in: ``default_strategy`` of that measurement (a test holds them together).
DEFAULT_STRATEGY = RANDOM


def default_strategy(gains: dict) -> str:
    """Return the strategy whose gain over random has a 95 % interval above zero (the largest gain), else random.

    ``gains`` maps a strategy to ``{"gain": float, "ci95": [low, high]}``, paired with random by seed.
    A gain whose interval reaches zero is not shown, so it cannot justify leaving random.
    """
    winners = {name: g for name, g in gains.items() if name != RANDOM and g["ci95"][0] > 0}
    return max(winners, key=lambda name: winners[name]["gain"]) if winners else RANDOM


def label_efficiency(path: str | Path | None = None) -> dict | None:
    """Return the label-efficiency measurement (``bench/label_bench.py``), or None when it cannot be read."""
    try:
        return json.loads(Path(path or LABEL_EFFICIENCY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def margin_scores(probabilities: np.ndarray) -> np.ndarray:
    """Return 1 - (p_top - p_second) per row: 1 for a coin toss, 0 for a certain prediction."""
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2 or probabilities.shape[0] == 0:
        return np.zeros(len(probabilities))
    if probabilities.shape[1] < 2:
        return np.zeros(len(probabilities))
    top2 = -np.sort(-probabilities, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def disagreement_scores(votes: np.ndarray) -> np.ndarray:
    """Return 1 - (share of the most given answer) per row of vote counts; 0 with fewer than two votes.

    ``votes`` is (n, answers): how many people gave each answer on each photo. Two of three
    agreeing scores 1/3; an even split of two scores 1/2.
    """
    votes = np.asarray(votes, np.float64)
    if votes.ndim != 2 or votes.shape[0] == 0:
        return np.zeros(len(votes))
    total = votes.sum(axis=1)
    shares = np.divide(votes.max(axis=1), total, out=np.ones(len(votes)), where=total > 0)
    return np.where(total >= 2, 1.0 - shares, 0.0)


def _unit(embeddings: np.ndarray) -> np.ndarray:
    embeddings = np.asarray(embeddings, np.float64)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.maximum(norms, 1e-12)


def anomaly_scores(candidates: np.ndarray, reference: np.ndarray, k: int = 5) -> np.ndarray:
    """Return each candidate's mean cosine distance to its ``k`` nearest reference photos.

    ``reference`` is every photo of the project (a candidate in it is skipped as its own
    neighbour), so a photo unlike the rest of the class's photos scores high.
    """
    candidates, reference = _unit(candidates), _unit(reference)
    if len(candidates) == 0 or len(reference) == 0:
        return np.zeros(len(candidates))
    distances = 1.0 - candidates @ reference.T
    distances[distances < 1e-9] = np.inf  # the photo itself (or an exact duplicate) is no neighbour
    k = max(1, min(k, reference.shape[0] - 1)) if reference.shape[0] > 1 else 1
    nearest = np.sort(distances, axis=1)[:, :k]
    nearest[~np.isfinite(nearest)] = 0.0
    return nearest.mean(axis=1)


def typical_diverse(candidates: np.ndarray, covered: np.ndarray | None, k: int, *, seed: int = 0,
                    max_clusters: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Return (order, typicality): up to ``k`` candidates, each the most typical photo of a region no label covers yet.

    TypiClust (Hacohen et al., 2022): cluster every photo, labeled or not, into as many groups as
    labels there will be; from the groups without a labeled photo, largest first, take the photo
    nearest the centre. Far better than k-center at a cold start, which picks outliers first
    (20 labels on the label benchmark: 0.89 holdout accuracy against 0.67). Typicality is the
    share of all photos in the chosen photo's group.
    """
    from sklearn.cluster import KMeans

    candidates = _unit(candidates)
    covered = _unit(covered) if covered is not None and len(covered) else np.zeros((0, candidates.shape[1]))
    k = min(k, len(candidates))
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    points = np.vstack([candidates, covered])
    n_clusters = int(min(len(covered) + k, len(points), max_clusters))
    groups = KMeans(n_clusters, n_init=1, random_state=seed).fit(points)
    assigned = groups.labels_[: len(candidates)]
    taken = set(groups.labels_[len(candidates):].tolist())
    sizes = np.bincount(groups.labels_, minlength=n_clusters)
    distances = ((candidates - groups.cluster_centers_[assigned]) ** 2).sum(axis=1)
    order, typical = [], []
    # Uncovered groups first, largest first; then covered ones, so every candidate can still be ranked.
    for group in sorted(range(n_clusters), key=lambda g: (g in taken, -sizes[g])):
        members = np.flatnonzero(assigned == group)
        if len(members) == 0:
            continue
        order.append(int(members[np.argmin(distances[members])]))
        typical.append(float(sizes[group] / len(points)))
        if len(order) == k:
            break
    return np.array(order, np.int64), np.array(typical)


def random_scores(n: int, seed: int) -> np.ndarray:
    """Return ``n`` uniform scores from a seeded generator (the same seed, the same order)."""
    return np.random.default_rng(seed).random(n)


def interleave(streams: list[list], shares: list[float], limit: int, key=None) -> list:
    """Return up to ``limit`` items taken from several ranked streams in proportion to ``shares``.

    Each slot goes to the stream furthest behind its share (a largest-remainder schedule), so a
    20 % share gets every fifth slot; items already taken from another stream (same ``key``) are skipped.
    """
    taken, seen = [], set()
    served = [0] * len(streams)
    positions = [0] * len(streams)
    shares = np.asarray(shares, np.float64)
    while len(taken) < limit:
        live = [i for i, s in enumerate(streams) if positions[i] < len(s) and shares[i] > 0]
        if not live:
            break
        total = max(len(taken), 0) + 1
        deficit = {i: shares[i] / shares[live].sum() * total - served[i] for i in live}
        i = max(live, key=lambda j: (deficit[j], -j))
        item = streams[i][positions[i]]
        positions[i] += 1
        identity = key(item) if key else item
        if identity in seen:
            continue
        seen.add(identity)
        served[i] += 1
        taken.append(item)
    return taken
