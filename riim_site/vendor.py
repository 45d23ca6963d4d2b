"""The front-end files the pages load from npm packages, served offline under ``static/vendor/``.

Only the listed files are found (and so copied and compressed by ``collectstatic``): onnxruntime-web
and TF.js ship dozens of builds (WebGPU, JSEP, Node, every bundle format, 280 MB in all) of which the
pages load one or two, and Scratch's editor 240 MB of which it loads 4. A page that needs another build
adds it here. A name may be a glob pattern (``static/blocks-media/default/*``) for a folder of icons or
for a file whose name carries a content hash the package version pins.
"""
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

# URL prefix under static/ -> (package folder inside node_modules, the files the pages load)
VENDOR_FILES = {
    # ort.wasm.min.js is the WebAssembly-only build; it loads the SIMD build of the runtime and its module.
    "vendor/onnxruntime-web": ("onnxruntime-web/dist",
                               ("ort.wasm.min.js", "ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs")),
    "vendor/tfjs": ("@tensorflow/tfjs/dist", ("tf.es2017.min.js",)),
    # Teachable Machine's library and the TF.js it was built for (1.3.1, installed as the npm alias tfjs-tm).
    "vendor/tfjs-tm": ("tfjs-tm/dist", ("tf.min.js",)),
    "vendor/teachablemachine-image": ("@teachablemachine/image/dist", ("teachablemachine-image.min.js",)),
    # Scratch's editor (/scratch/, apps.scratch): the standalone bundle, the block icons it asks for under
    # the basePath it is given, and the two chunks it loads (the asset fetch worker, the paint editor's paper.js).
    "vendor/scratch-gui": ("@scratch/scratch-gui/dist", (
        "scratch-gui-standalone.js", "static/blocks-media/default/*", "chunks/fetch-worker.*.js",
        "chunks/paper-source.*.js",
    )),
    # The bundle asks for its own pictures at /static/assets/<name> (its webpack public path is "/"): the menu
    # icons and the extension library's cards. Tutorials and the 2 MB "nineties" theme logo are left out.
    "assets": ("@scratch/scratch-gui/dist/static/assets", (
        "icon--*.svg", "*-small.*.svg", "translateIcon.*.svg",
        *(f"{card}.*.png" for card in ("boost", "ev3", "faceSensing", "gdxfor", "makeymakey", "microbit", "music",
                                       "pen", "text2speech", "translate", "video-sensing", "wedo")),
    )),
}


def node_modules() -> Path:
    return Path(settings.BASE_DIR) / "node_modules"


def vendor_names(folder: Path, names) -> list[str]:
    """Return ``names`` with each glob pattern replaced by the files it matches in ``folder`` (none if absent)."""
    out = []
    for name in names:
        if any(char in name for char in "*?["):
            out += sorted(path.relative_to(folder).as_posix() for path in folder.glob(name) if path.is_file())
        else:
            out.append(name)
    return out


class VendorFilesFinder(BaseFinder):
    """Find exactly the files of ``VENDOR_FILES``, under their ``static/vendor/...`` names."""

    def _files(self):
        for prefix, (folder, names) in VENDOR_FILES.items():
            for name in vendor_names(node_modules() / folder, names):
                yield f"{prefix}/{name}", node_modules() / folder / name

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        matches = [str(source) for name, source in self._files() if name == path and source.is_file()]
        return matches if find_all else (matches[0] if matches else [])

    def list(self, ignore_patterns):
        for prefix, (folder, names) in VENDOR_FILES.items():
            storage = FileSystemStorage(location=str(node_modules() / folder))
            storage.prefix = prefix
            for name in vendor_names(node_modules() / folder, names):
                if storage.exists(name):
                    yield name, storage
