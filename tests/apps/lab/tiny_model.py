"""Moved to ``tests.fixtures.models`` (``write_model_folder``: a served folder written with onnx.helper).

Kept so older imports still work; new tests import from ``tests.fixtures.models``.
"""

from tests.fixtures.models import AE_SIZE, CHANNELS, CLASS_EVIDENCE, SIZE, write_model_folder  # noqa: F401
