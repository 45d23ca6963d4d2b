"""A multi-armed bandit agent (epsilon-greedy with decaying exploration) and a random baseline.

The lab's agent picks an augmentation policy, receives a reward (validation accuracy
of a head trained with that policy) and updates its estimate of each action's value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ml.lab.heads import HeadConfig, fit_head, head_accuracy

# The agent's actions: which augmented copies join the original photos (names as in ml.lab.augment).
POLICIES = {
    "none": (),
    "flip": ("flip",),
    "bright": ("bright",),
    "dark": ("dark",),
    "crop": ("crop",),
    "flip+crop": ("flip", "crop"),
    "all": ("flip", "bright", "dark", "crop"),
}
BANDIT_PER_CLASS = 6  # a small training set, where the choice of augmentation matters most
BANDIT_STEPS = 24
BANDIT_EPSILON = 0.4
AGENT_SHARE = 0.8  # of the progress bar for the agent's steps; the random baseline fills the rest


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


def augmentation_reward(
    embeddings: dict[str, np.ndarray],
    labels: np.ndarray,
    train: np.ndarray,
    classes: int,
    per_class: int = BANDIT_PER_CLASS,
) -> Callable[[str, int], float]:
    """Return the reward of a policy at a step: accuracy on the other training rows of a head trained on
    ``per_class`` rows per class plus the policy's augmented copies (the draw depends on the step only).
    """

    def reward(policy: str, step: int) -> float:
        rng = np.random.default_rng(1000 + step)
        chosen, rest = [], []
        for c in range(classes):
            members = rng.permutation(train[labels[train] == c])
            chosen.extend(members[:per_class])
            rest.extend(members[per_class:])
        chosen, rest = np.array(chosen), np.array(rest)
        x = np.concatenate([embeddings["original"][chosen], *[embeddings[v][chosen] for v in POLICIES[policy]]])
        y = np.concatenate([labels[chosen]] * (1 + len(POLICIES[policy])))
        head, _ = fit_head(x, y, classes, HeadConfig(hidden=32, epochs=20, dropout=0.2, seed=step))
        return head_accuracy(head, embeddings["original"][rest], labels[rest])

    return reward


def augmentation_bandit(
    embeddings: dict[str, np.ndarray],
    labels: np.ndarray,
    train: np.ndarray,
    classes: int,
    progress: Callable[[float, str], None] | None = None,
) -> dict:
    """Let the agent and the random baseline choose augmentation policies on the training rows; return both."""
    reward = augmentation_reward(embeddings, labels, train, classes)
    actions = list(POLICIES)
    agent_progress = (lambda f, m: progress(AGENT_SHARE * f, m)) if progress else None
    agent = run_agent(actions, reward, steps=BANDIT_STEPS, epsilon=BANDIT_EPSILON, seed=0, progress=agent_progress)
    baseline = run_random(actions, reward, steps=BANDIT_STEPS, seed=0)
    if progress:
        progress(1.0, "")
    return {
        "actions": actions,
        "policies": {a: list(v) for a, v in POLICIES.items()},
        "agent": agent,
        "random": baseline,
        "per_class": BANDIT_PER_CLASS,
    }
