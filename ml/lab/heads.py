"""A small classifier head (one hidden layer) trained with numpy on cached embeddings.

The same head is used by every fast experiment of the lab (overfitting, noisy labels,
the augmentation agent, single splits), so their numbers are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HeadConfig:
    hidden: int = 32  # small: the embeddings already carry the useful features
    epochs: int = 40
    learning_rate: float = 0.05
    momentum: float = 0.9
    batch_size: int = 16
    dropout: float = 0.0  # fraction of hidden units switched off at each training step
    l2: float = 1e-4
    seed: int = 0


@dataclass
class Head:
    mean: np.ndarray
    scale: np.ndarray
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Return softmax probabilities of a batch of embeddings."""
        hidden = np.maximum(((x - self.mean) / self.scale) @ self.W1 + self.b1, 0.0)
        logits = hidden @ self.W2 + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.probabilities(x).argmax(axis=1)


def _loss_accuracy(head: Head, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(x) == 0:
        return float("nan"), float("nan")
    p = head.probabilities(x)
    loss = float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))
    return loss, float(np.mean(p.argmax(axis=1) == y))


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    classes: int,
    config: HeadConfig = HeadConfig(),
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[Head, list[dict]]:
    """Train a head with momentum SGD; return it and per-epoch curves (loss, accuracy, val_*)."""
    rng = np.random.default_rng(config.seed)
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.int64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    dims = x.shape[1]
    head = Head(
        mean=mean,
        scale=scale,
        W1=rng.normal(0, np.sqrt(2 / dims), (dims, config.hidden)),
        b1=np.zeros(config.hidden),
        W2=rng.normal(0, np.sqrt(1 / config.hidden), (config.hidden, classes)),
        b2=np.zeros(classes),
    )
    velocity = {k: np.zeros_like(getattr(head, k)) for k in ("W1", "b1", "W2", "b2")}
    xs = (x - mean) / scale
    curves = []
    for epoch in range(config.epochs):
        order = rng.permutation(len(xs))
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            xb, yb = xs[idx], y[idx]
            z1 = xb @ head.W1 + head.b1
            a1 = np.maximum(z1, 0.0)
            if config.dropout > 0:
                keep = (rng.random(a1.shape) >= config.dropout) / (1.0 - config.dropout)
                a1 = a1 * keep
            logits = a1 @ head.W2 + head.b2
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            d_logits = p
            d_logits[np.arange(len(yb)), yb] -= 1.0
            d_logits /= len(yb)
            grads = {
                "W2": a1.T @ d_logits + config.l2 * head.W2,
                "b2": d_logits.sum(axis=0),
            }
            d_a1 = d_logits @ head.W2.T
            if config.dropout > 0:
                d_a1 = d_a1 * keep
            d_z1 = d_a1 * (z1 > 0)
            grads["W1"] = xb.T @ d_z1 + config.l2 * head.W1
            grads["b1"] = d_z1.sum(axis=0)
            for name, grad in grads.items():
                velocity[name] = config.momentum * velocity[name] - config.learning_rate * grad
                setattr(head, name, getattr(head, name) + velocity[name])
        loss, accuracy = _loss_accuracy(head, x, y)
        row = {"epoch": epoch + 1, "loss": loss, "accuracy": accuracy}
        if validation is not None:
            row["val_loss"], row["val_accuracy"] = _loss_accuracy(head, *validation)
        curves.append(row)
    return head, curves


def head_accuracy(head: Head, x: np.ndarray, y: np.ndarray) -> float:
    """Return the fraction of examples the head classifies correctly."""
    return _loss_accuracy(head, np.asarray(x, np.float64), np.asarray(y, np.int64))[1]
