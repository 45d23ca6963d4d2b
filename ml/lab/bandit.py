"""A multi-armed bandit agent (epsilon-greedy with decaying exploration) and a random baseline.

The lab's agent picks an augmentation policy, receives a reward (validation accuracy
of a head trained with that policy) and updates its estimate of each action's value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def run_agent(
    actions: Sequence[str],
    reward: Callable[[str, int], float],
    steps: int = 30,
    epsilon: float = 0.3,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
) -> dict:
    """Play `steps` rounds; return rewards, running mean reward, action values, counts and the best action."""
    rng = np.random.default_rng(seed)
    values = np.zeros(len(actions))
    counts = np.zeros(len(actions), np.int64)
    history = []
    for step in range(steps):
        explore_rate = epsilon / (1 + step / max(1, steps / 4))  # explore a lot early, exploit later
        untried = np.flatnonzero(counts == 0)
        if untried.size:
            choice = int(untried[0])  # try every action once before trusting any estimate
        elif rng.random() < explore_rate:
            choice = int(rng.integers(len(actions)))
        else:
            choice = int(np.argmax(values))
        r = float(reward(actions[choice], step))
        counts[choice] += 1
        values[choice] += (r - values[choice]) / counts[choice]  # incremental mean
        history.append({"step": step + 1, "action": actions[choice], "reward": r, "explore": float(explore_rate)})
        if progress:
            progress((step + 1) / steps, actions[choice])
    best = int(np.argmax(values))
    return {
        "rewards": [h["reward"] for h in history],
        "mean_reward": _running_mean([h["reward"] for h in history]),
        "history": history,
        "values": {a: float(v) for a, v in zip(actions, values, strict=True)},
        "counts": {a: int(c) for a, c in zip(actions, counts, strict=True)},
        "best": actions[best],
    }


def run_random(actions: Sequence[str], reward: Callable[[str, int], float], steps: int = 30, seed: int = 0) -> dict:
    """Play `steps` rounds choosing uniformly at random (the baseline the agent must beat)."""
    rng = np.random.default_rng(seed + 7919)
    rewards = [float(reward(actions[int(rng.integers(len(actions)))], step)) for step in range(steps)]
    return {"rewards": rewards, "mean_reward": _running_mean(rewards)}


def _running_mean(values: list[float]) -> list[float]:
    totals = np.cumsum(values)
    return [float(t / (i + 1)) for i, t in enumerate(totals)]
