"""One ONNX Runtime session per backbone fingerprint and process (opening one costs ~0.1 s)."""
import threading

from ml.embeddings import Embedder, backbone_onnx

_EMBEDDERS: dict = {}
_LOCK = threading.Lock()


def embedder_for(backbone, cache_dir) -> Embedder:
    """Return this process's embedder for a backbone, exporting the backbone the first time.

    The export (TensorFlow) runs in a child process: this long-lived process stays without TensorFlow.
    """
    with _LOCK:
        embedder = _EMBEDDERS.get(backbone.fingerprint)
        if embedder is None:
            embedder = _EMBEDDERS[backbone.fingerprint] = Embedder(backbone_onnx(backbone, cache_dir, isolated=True))
        return embedder
