"""The three shares of a project's photos, fixed per photo by its hash.

    position = first 32 bits of the photo's SHA-256 (a webcam session's: of its id), in [0, 1)
    position < test                 -> test        (sealed: only reports, no decision reads it)
    position < test + validation    -> validation  (decides which version is served, and advice)
    otherwise                       -> train       (fits the models; their own cross-validation inside)

The same rule carved the validation share out of older projects' training photos
(``uploads/migrations/0007_three_splits.py``), so old and new photos follow one rule.
"""
import hashlib

TRAIN, VALIDATION, TEST = "train", "validation", "test"
# Older runs' dataset snapshots and training bundles call the test share "holdout".
SPLIT_ALIASES = {"holdout": TEST}


def split_position(digest: str) -> float:
    return int(digest[:8], 16) / 0x1_0000_0000


def split_for_position(position: float, *, test_fraction: float, validation_fraction: float) -> str:
    if position < test_fraction:
        return TEST
    if position < test_fraction + validation_fraction:
        return VALIDATION
    return TRAIN


def image_split_for(*, sha256: str, project) -> str:
    """Return the fixed split of a photo of ``project``: a deterministic function of its hash."""
    return split_for_position(split_position(sha256), test_fraction=project.test_fraction,
                              validation_fraction=project.validation_fraction)


def capture_split_for(*, capture_session, project) -> str:
    """Return the one split of every frame of a webcam capture session: a function of the session id."""
    digest = hashlib.sha256(f"capture-session:{capture_session}".encode()).hexdigest()
    return image_split_for(sha256=digest, project=project)


def split_canonical(split: str) -> str:
    return SPLIT_ALIASES.get(split, split)
