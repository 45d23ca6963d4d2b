"""The one place that selects Keras 2 (``tf_keras``) and imports TensorFlow.

Every module that needs Keras imports ``keras`` and ``tf`` from here, so the
``TF_USE_LEGACY_KERAS`` switch is set before TensorFlow is first imported.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# Quiet TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["keras", "tf", "library_versions", "set_seed"]


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow so a run can be repeated."""
    keras.utils.set_random_seed(seed)


def library_versions() -> dict:
    """Return the versions of the libraries that shape a trained model."""
    import platform

    import numpy
    import PIL
    import sklearn

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "tf_keras": keras.__version__,
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "pillow": PIL.__version__,
    }
