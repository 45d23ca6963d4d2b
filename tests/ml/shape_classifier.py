"""Moved to ``tests.fixtures.models`` (the Keras classifier trained and exported once per session).

Kept so older imports still work; new tests import ``from tests.fixtures import models as fx``.
"""

from tests.fixtures.models import (  # noqa: F401
    CLASSES,
    SIZE,
    TAGS,
    blank_images,
    build_classifier,
    exported,
    line_images,
    noise_images,
    shapes,
    trained,
)
from tests.fixtures.models import shape_array as draw_shape  # noqa: F401
