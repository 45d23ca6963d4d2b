"""Magnitude pruning of every kernel, measured on the stripped model."""

import numpy as np

from tests.fixtures import models as fx


def test_sparsity_reaches_target_over_all_kernels(shape_export):
    """The parameter-weighted zero fraction of all conv, depthwise and dense kernels is within 0.02 of 0.5."""
    report = shape_export["sections"]["pruning"]
    assert abs(report["sparsity"]["total"] - 0.5) <= 0.02
    assert report["reached"] is True
    types = {row["type"] for row in report["sparsity"]["layers"]}
    assert {"Conv2D", "DepthwiseConv2D", "Dense"} <= types
    # ERK allocation: every kernel loses at least a quarter of the target, large ones more.
    assert all(row["sparsity"] >= 0.12 for row in report["sparsity"]["layers"])
    by_layer = {row["layer"]: row["sparsity"] for row in report["sparsity"]["layers"]}
    assert by_layer["conv2"] > by_layer["conv1"]


def test_sparsity_is_measured_from_the_weights(shape_export):
    """The reported zero counts are the exact zeros of the served model's kernels."""
    from ml.pruning import measure_sparsity

    model = shape_export["served_model"]
    measured = measure_sparsity(model)
    zeros = sum(
        int(np.sum(layer.get_weights()[0] == 0))
        for layer in model.layers
        if layer.name in {"conv1", "conv2", "dw", "pw", "logits"}
    )
    assert measured["zeros"] == zeros
    assert measured == shape_export["sections"]["pruning"]["sparsity"]


def test_pruned_model_keeps_accuracy_and_compresses(shape_export):
    """Pruning costs at most a few points on the holdout and shrinks the gzip size of the ONNX file."""
    report = shape_export["sections"]["pruning"]
    assert report["accuracy_after"] >= report["accuracy_before"] - 0.05
    assert report["gzip_bytes"]["after"] < 0.8 * report["gzip_bytes"]["before"]
    assert (shape_export["out"] / "model.unpruned.onnx").exists()


def test_unpruned_model_has_dense_kernels():
    """An untrained, unpruned model measures (almost) no zeros, so the measurement is not a constant."""
    from ml.pruning import measure_sparsity

    assert measure_sparsity(fx.build_classifier())["total"] < 0.01


def test_schedule_ends_on_an_update_step():
    """The schedule's end step is a multiple of its update frequency, so the final mask has the target sparsity."""
    from ml.pruning import schedule_steps

    for steps, epochs in [(3, 2), (12, 2), (44, 2), (100, 3)]:
        end, frequency, total = schedule_steps(steps, epochs)
        assert end % frequency == 0 and 0 < end <= total


def test_layer_targets_average_to_the_target():
    """Both allocations give a parameter-weighted mean sparsity equal to the target; uniform is flat."""
    from ml.pruning import kernel_layers, layer_targets

    model = fx.build_classifier()
    sizes = {layer.name: sum(int(np.prod(w.shape)) for w in layer.weights if "kernel" in w.name) for layer in kernel_layers(model)}
    for allocation in ("uniform", "erk"):
        targets = layer_targets(model, 0.5, allocation)
        weighted = sum(targets[n] * sizes[n] for n in sizes) / sum(sizes.values())
        assert abs(weighted - 0.5) < 1e-6
    assert set(layer_targets(model, 0.5, "uniform").values()) == {0.5}
    erk = layer_targets(model, 0.5, "erk")
    assert erk["dw"] < erk["conv2"] and min(erk.values()) >= 0.125 - 1e-9
