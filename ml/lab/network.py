"""A tiny fully connected network (inputs → tanh hidden layer → softmax) with hand-written backpropagation.

Small enough to print every activation and every weight's gradient for one example;
``numerical_gradients`` recomputes the same gradients by finite differences so the
page can show that the chain rule gives the right numbers.
"""

from __future__ import annotations

import numpy as np

PARAMETERS = ("W1", "b1", "W2", "b2")
COLOUR_HIDDEN = 4  # few enough units that the page can print every weight
COLOUR_STEPS = 6
COLOUR_LEARNING_RATE = 1.0  # large on purpose: the loss visibly falls within a few steps


def init_network(inputs: int, hidden: int, classes: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Return small random weights (float64, so finite differences are precise)."""
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0, 1 / np.sqrt(inputs), (inputs, hidden)),
        "b1": np.zeros(hidden),
        "W2": rng.normal(0, 1 / np.sqrt(hidden), (hidden, classes)),
        "b2": np.zeros(classes),
    }


def forward(net: dict, x: np.ndarray) -> dict[str, np.ndarray]:
    """Return every intermediate value for one example x of shape (inputs,)."""
    z1 = x @ net["W1"] + net["b1"]
    a1 = np.tanh(z1)
    logits = a1 @ net["W2"] + net["b2"]
    shifted = np.exp(logits - logits.max())
    return {"x": x, "z1": z1, "a1": a1, "logits": logits, "probabilities": shifted / shifted.sum()}


def loss(net: dict, x: np.ndarray, y: int) -> float:
    """Return the cross-entropy of one example with true class y."""
    return float(-np.log(forward(net, x)["probabilities"][y] + 1e-300))


def backward(net: dict, x: np.ndarray, y: int) -> dict[str, np.ndarray]:
    """Return d loss / d parameter for every parameter, by the chain rule."""
    values = forward(net, x)
    d_logits = values["probabilities"].copy()
    d_logits[y] -= 1.0  # softmax + cross-entropy: p - one_hot(y)
    d_a1 = net["W2"] @ d_logits
    d_z1 = d_a1 * (1.0 - values["a1"] ** 2)  # tanh'(z) = 1 - tanh(z)^2
    return {
        "W1": np.outer(x, d_z1),
        "b1": d_z1,
        "W2": np.outer(values["a1"], d_logits),
        "b2": d_logits,
    }


def numerical_gradients(net: dict, x: np.ndarray, y: int, eps: float = 1e-6) -> dict[str, np.ndarray]:
    """Return the same gradients by central finite differences (slow, only for checking)."""
    grads = {}
    for name in PARAMETERS:
        grad = np.zeros_like(net[name])
        for index in np.ndindex(net[name].shape):
            original = net[name][index]
            net[name][index] = original + eps
            plus = loss(net, x, y)
            net[name][index] = original - eps
            minus = loss(net, x, y)
            net[name][index] = original
            grad[index] = (plus - minus) / (2 * eps)
        grads[name] = grad
    return grads


def max_relative_error(analytic: dict, numeric: dict) -> float:
    """Return the largest |a - n| / max(|a| + |n|, 1e-8) over every parameter."""
    worst = 0.0
    for name in PARAMETERS:
        a, n = analytic[name], numeric[name]
        worst = max(worst, float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-8))))
    return worst


def train_steps(net: dict, x: np.ndarray, y: int, steps: int = 6, learning_rate: float = 0.5) -> list[dict]:
    """Take gradient-descent steps on one example; return every step's values, gradients and check."""
    net = {k: v.copy() for k, v in net.items()}
    records = []
    for step in range(steps + 1):
        values = forward(net, x)
        grads = backward(net, x, y)
        numeric = numerical_gradients(net, x, y)
        records.append(
            {
                "step": step,
                "loss": loss(net, x, y),
                "activations": {k: values[k].round(6).tolist() for k in ("z1", "a1", "logits", "probabilities")},
                "weights": {k: net[k].round(6).tolist() for k in PARAMETERS},
                "gradients": {k: grads[k].round(6).tolist() for k in PARAMETERS},
                "numeric_gradients": {k: numeric[k].round(6).tolist() for k in PARAMETERS},
                "max_relative_error": max_relative_error(grads, numeric),
            }
        )
        for name in PARAMETERS:
            net[name] = net[name] - learning_rate * grads[name]
    return records


def colour_example(pixels: np.ndarray, target: int, classes: int, seed: int = 0) -> dict:
    """Train the tiny network on one photo's mean red, green and blue (0..1); return the inputs and every step."""
    x = np.asarray(np.asarray(pixels, np.float32).reshape(-1, 3).mean(axis=0) / 255.0, np.float64)
    net = init_network(3, COLOUR_HIDDEN, classes, seed=seed)
    return {
        "inputs": [round(float(v), 4) for v in x],
        "target": int(target),
        "steps": train_steps(net, x, target, steps=COLOUR_STEPS, learning_rate=COLOUR_LEARNING_RATE),
    }
