"""Moved to ``tests.fixtures.models`` (the served model) and ``tests.fixtures.people`` (the classroom).

Kept so older imports still work; new tests import from ``tests.fixtures``.
"""

from tests.fixtures.models import SERVED_CLASSES as CLASSES  # noqa: F401
from tests.fixtures.models import SERVED_SIZE as SIZE  # noqa: F401
from tests.fixtures.models import (  # noqa: F401
    SERVING_FILES,
    class_pictures,
    draw,
    encoded,
    model_classes,
    noise_pictures,
    publish,
    trained_model_dir,
)
from tests.fixtures.people import classroom, stored_image  # noqa: F401
