"""Resolve pretrained ImageNet weights without ever opening a caller-chosen path.

Where ``imagenet`` weights come from is the backbone's registry entry (``ml.backbones``): a file
inside a pip package (pinned by SHA-256, nothing to copy or download), or a standard Keras file
name looked for in the weights folder, the Keras cache (``~/.keras/models``), then downloaded. A
specific file is accepted only as a name (or a path) that resolves inside the weights folder;
anything else is refused. The folder is an argument (the platform passes
``settings.RIIM_WEIGHTS_DIR``, the CLI ``--weights-dir``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ml.backbones import KerasWeights, PackageWeights, spec
from ml.errors import WEIGHTS_BAD_NAME, WEIGHTS_OUTSIDE_DIR, WeightsError

KERAS_RESOLUTIONS = (224, 192, 160, 128)


@dataclass(frozen=True)
class WeightsResolution:
    """Where the weights of a backbone came from (recorded in the card)."""

    requested: str
    path: str | None  # the file to load, or None when no weights are available
    source: str  # "package" | "directory" | "cache" | "download" | "none"
    message: str  # the English sentence, for the card and the command line
    # The same as a message key and its parameters (``ml.events.backbone_event`` turns it into the build
    # event), so the platform says it in the reader's language.
    reason: str = ""
    params: dict = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.path is not None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["file"] = Path(self.path).name if self.path else None
        del data["path"]  # local paths stay out of shareable cards
        return data


def standard_file_names(backbone: str, alpha: float, image_size: int) -> list:
    """Return the Keras Applications file names for a no-top backbone, preferred resolution first.

    The convolution weights do not depend on the input size, so any resolution's file fits.
    """
    entry = spec(backbone)
    if not isinstance(entry.weights, KerasWeights) or float(alpha) not in entry.widths:
        return []
    sizes = sorted(KERAS_RESOLUTIONS, key=lambda r: (r != image_size, -r))
    if backbone == "mobilenet":
        alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}[float(alpha)]
        return [f"mobilenet_{alpha_text}_{r}_tf_no_top.h5" for r in sizes]
    return [f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{r}_no_top.h5" for r in sizes]


def keras_cache_dir() -> Path:
    """Return the directory where ``tf_keras`` caches downloaded weights (it ignores KERAS_HOME)."""
    return Path.home() / ".keras" / "models"


def trusted_directory(weights_dir: str | Path | None) -> Path | None:
    """Return the weights folder as an absolute path, or None when there is none."""
    text = str(weights_dir or "").strip()
    return Path(text).expanduser().resolve() if text else None


def confined_weights_file(name: str, weights_dir: str | Path | None) -> Path | None:
    """Return the file for a name inside the weights folder, None if absent; refuse anything outside."""
    if not name or "\x00" in name:
        raise WeightsError(WEIGHTS_BAD_NAME.format(name=name))
    directory = trusted_directory(weights_dir)
    if directory is None:
        # Without a trusted directory only plain names are meaningful, and none can be found.
        if Path(name).name != name or name in (".", ".."):
            raise WeightsError(WEIGHTS_OUTSIDE_DIR.format(name=name))
        return None
    candidate = Path(name)
    candidate = (candidate if candidate.is_absolute() else directory / candidate).resolve()
    if directory != candidate.parent and directory not in candidate.parents:
        raise WeightsError(WEIGHTS_OUTSIDE_DIR.format(name=name))
    return candidate if candidate.is_file() else None


def resolve_weights(backbone: str, alpha: float, weights: str, image_size: int, *,
                    weights_dir: str | Path | None = None, download: bool = True):
    """Find the weights file for a backbone in ``weights_dir``, the cache or online; say where it came from or why none."""
    entry = spec(backbone)
    if not entry.pretrained or weights in ("none", "", None):
        return WeightsResolution(str(weights), None, "none", "random initialisation requested", "random")
    if weights != "imagenet":
        found = confined_weights_file(weights, weights_dir)
        if found:
            return WeightsResolution(weights, str(found), "directory", f"loaded {found.name} from RIIM_WEIGHTS_DIR",
                                     "directory", {"file": found.name})
        return WeightsResolution(weights, None, "none", f"weights file '{weights}' not found in RIIM_WEIGHTS_DIR",
                                 "file_missing", {"file": weights})
    if isinstance(entry.weights, PackageWeights):
        return _package_weights(weights, entry.weights)
    names = standard_file_names(backbone, alpha, image_size)
    if not names:
        return WeightsResolution(weights, None, "none", f"no ImageNet weights exist for {backbone} alpha={alpha}",
                                 "no_imagenet")
    directory = trusted_directory(weights_dir)
    for name in names:
        if directory and (directory / name).is_file():
            return WeightsResolution(weights, str(directory / name), "directory", f"{name} from RIIM_WEIGHTS_DIR",
                                     "directory", {"file": name})
    for name in names:
        if (keras_cache_dir() / name).is_file():
            return WeightsResolution(weights, str(keras_cache_dir() / name), "cache", f"{name} from the Keras cache",
                                     "cache", {"file": name})
    if download:
        from ml.backend import keras

        try:
            path = keras.utils.get_file(names[0], entry.weights.url + names[0], cache_subdir="models")
            return WeightsResolution(weights, path, "download", f"{names[0]} downloaded", "download",
                                     {"file": names[0]})
        except Exception as exc:  # network errors come in many types; all mean "not available"
            detail = f"{type(exc).__name__}: {exc}"[:160]
            reason = f"{_not_found(names[0], directory)}, and downloading it failed ({detail})"
            return WeightsResolution(weights, None, "none", reason, *_not_found_reason(names[0], directory, detail))
    return WeightsResolution(weights, None, "none", _not_found(names[0], directory),
                             *_not_found_reason(names[0], directory))


def _package_weights(requested: str, source: PackageWeights) -> WeightsResolution:
    """Return the weights file of an installed pip package, or say which package to install."""
    path = source.path()
    name = Path(source.file).name
    if path is None:
        return WeightsResolution(requested, None, "none", f"the package {source.requirement} is not installed",
                                 "package_missing", {"package": source.requirement})
    return WeightsResolution(requested, str(path), "package", f"{name} from the pip package {source.requirement}",
                             "package", {"file": name, "package": source.requirement})


def _not_found(name: str, directory: Path | None) -> str:
    """Say where a weights file was looked for, so whoever reads it knows where to put the file."""
    where = f"RIIM_WEIGHTS_DIR ({directory})" if directory else "RIIM_WEIGHTS_DIR (not set)"
    return f"{name} is neither in {where} nor in the Keras cache"


def _not_found_reason(name: str, directory: Path | None, download_error: str | None = None) -> tuple[str, dict]:
    """Return ``_not_found``'s sentence as a reason and its parameters (the download's error, when one was tried)."""
    reason, params = ("not_found", {"file": name, "folder": str(directory)}) if directory else ("no_folder", {"file": name})
    if download_error is not None:
        reason, params = f"{reason}_download_failed", {**params, "error": download_error}
    return reason, params
