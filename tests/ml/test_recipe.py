"""The full recipe keeps fine-tuning only when it beats its own warm start on validation data."""
import numpy as np

from ml.training import select_recipe


def test_select_recipe_keeps_the_best_candidate_on_validation():
    """Of two weight sets, the one that classifies the validation images is restored, with the table."""
    from ml.backend import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    x = rng.normal(0, 0.1, (40, 4, 4, 3)).astype(np.float32)
    x[:, :, :, 0] += np.where(y == 1, 1.0, -1.0)[:, None, None]  # channel 0 tells the classes apart
    kernel = np.zeros((48, 2), np.float32)
    kernel[0::3, 1], kernel[0::3, 0] = 1.0, -1.0
    good = [kernel, np.zeros(2, np.float32)]
    bad = [-kernel, np.zeros(2, np.float32)]
    recipe = select_recipe(model, {"warm_start": good, "fine_tuned": bad}, x, y)
    assert recipe["chosen"] == "warm_start"
    assert recipe["candidates"]["warm_start"]["val_accuracy"] == 1.0
    assert recipe["candidates"]["fine_tuned"]["val_accuracy"] == 0.0
    np.testing.assert_array_equal(model.get_weights()[0], kernel)  # the winner's weights are in place
