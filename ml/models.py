"""Model builders: a small scratch CNN and pretrained MobileNet backbones with one shared head.

Every model has the same outer shape so later stages can rely on it:

    input -> ``backbone`` (a nested Model producing feature maps)
          -> ``head_pool`` (global average pooling) -> ``head_dropout`` -> ``head_predictions`` (softmax)

Class-activation maps use ``backbone``'s output and ``head_predictions``' kernel; cached
features for k-fold are ``head_pool``'s output.
"""

from __future__ import annotations

from ml.backbones import BackboneSpec, spec
from ml.backend import keras
from ml.runtime import EARLY_FEATURES, INPUT_NAME

BACKBONE = "backbone"
HEAD_POOL = "head_pool"
HEAD_DROPOUT = "head_dropout"
HEAD_PREDICTIONS = "head_predictions"
# Small datasets give few steps per epoch: with Keras' default 0.99 the moving statistics lag
# the changing weights by several epochs and validation accuracy swings wildly.
BN_MOMENTUM = 0.9


def build_scratch_backbone(image_size: int, filters=(32, 64, 128, 256), l2: float = 1e-4) -> keras.Model:
    """Return a small conv-net feature extractor trained from random weights.

    A stride-2 stem halves the image cheaply; each block is conv -> batch norm -> ReLU,
    followed by max pooling except after the last block (its maps feed the CAM).
    """
    layers = keras.layers
    regularizer = keras.regularizers.l2(l2) if l2 else None
    inputs = keras.Input((image_size, image_size, 3), name=INPUT_NAME)
    x = layers.Conv2D(filters[0], 3, strides=2, padding="same", use_bias=False,
                      kernel_regularizer=regularizer, name="stem_conv")(inputs)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for i, width in enumerate(filters, start=1):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False,
                          kernel_regularizer=regularizer, name=f"block{i}_conv")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"block{i}_bn")(x)
        x = layers.ReLU(name=f"block{i}_relu")(x)
        if i < len(filters):
            x = layers.MaxPooling2D(name=f"block{i}_pool")(x)
    return keras.Model(inputs, x, name=BACKBONE)


def build_pretrained_backbone(backbone: str, alpha: float, image_size: int, weights_path: str | None):
    """Return a registry backbone's feature extractor (named ``backbone``), loading a resolved weights file."""
    base = spec(backbone).build(alpha, image_size, weights_path)
    base._name = BACKBONE
    return base


def build_keras_application(entry: BackboneSpec, alpha: float, image_size: int, weights_path: str | None):
    """Return a MobileNet (v1 or v2) of Keras Applications, loading no-top weights from a resolved file."""
    shape = (image_size, image_size, 3)
    application = {"mobilenet": keras.applications.MobileNet, "mobilenet_v2": keras.applications.MobileNetV2}
    base = application[entry.name](input_shape=shape, alpha=alpha, include_top=False, weights=None)
    if weights_path:
        base.load_weights(weights_path)
    return base


def build_reference_extractor(backbone: str, alpha: float, image_size: int, weights_path: str) -> keras.Model:
    """Return the pretrained backbone as it was before any training, pooled: (scaled image) -> embedding.

    Its ImageNet features describe photos in general, which is what the anomaly detector needs: a
    network fine-tuned on two classes (and pruned) keeps what separates them and maps other kinds
    of photos close to them.
    """
    base = build_pretrained_backbone(backbone, alpha, image_size, weights_path)
    base.trainable = False
    inputs = keras.Input((image_size, image_size, 3), name=INPUT_NAME)
    pooled = keras.layers.GlobalAveragePooling2D(name="embedding")(base(inputs, training=False))
    return keras.Model(inputs, pooled, name="reference")


REFERENCE_INPUT = EARLY_FEATURES  # the served network's tensor the reference continues from


def reference_branch_point(reference: keras.Model) -> str | None:
    """Return the backbone layer after which the anomaly reference leaves the served network, or None.

    It is the last layer at a quarter of the input resolution (MobileNet's ``conv_pw_3_relu`` at
    224 px). The served model computes everything up to it anyway, so the reference only adds the
    layers after it: about half the time of a second full network. Those first blocks are the
    served network's own (pruning and fine-tuning change them a little); on cats/dogs against
    other photos the paired AUROC is the same as with the untouched backbone (0.984). None when
    no single tensor there separates the graph (a residual connection crosses it).
    """
    base = reference.get_layer(BACKBONE)
    size = int(base.input_shape[1])
    cut = None
    for layer in base.layers[1:]:
        shape = layer.output_shape
        if isinstance(layer, keras.layers.ZeroPadding2D) or not isinstance(shape, tuple) or len(shape) != 4:
            continue
        if shape[1] >= size // 4:
            cut = layer.name
    if cut is None:
        return None
    try:
        keras.Model(base.get_layer(cut).output, base.output)
    except ValueError:  # "cannot be reached": a skip connection bypasses the cut
        return None
    return cut


def build_reference_tail(reference: keras.Model, cut: str) -> keras.Model:
    """Return the reference from ``cut`` on: (``early_features``) -> ``embedding``, weights as loaded."""
    base = reference.get_layer(BACKBONE)
    rest = keras.Model(base.get_layer(cut).output, base.output, name="reference_rest")
    inputs = keras.Input(rest.input_shape[1:], name=REFERENCE_INPUT)
    pooled = keras.layers.GlobalAveragePooling2D(name="embedding")(rest(inputs, training=False))
    return keras.Model(inputs, pooled, name="reference")


def build_classifier(base: keras.Model, num_classes: int, dropout: float, l2: float,
                     pretrained: bool) -> keras.Model:
    """Put the shared head (GAP -> dropout -> dense softmax) on a backbone.

    A pretrained base is called with ``training=False`` so its batch-norm layers stay in
    inference mode even once its top layers are unfrozen for fine-tuning.
    """
    layers = keras.layers
    inputs = keras.Input(base.input_shape[1:], name=INPUT_NAME)
    features = base(inputs, training=False) if pretrained else base(inputs)
    x = layers.GlobalAveragePooling2D(name=HEAD_POOL)(features)
    x = layers.Dropout(dropout, name=HEAD_DROPOUT)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name=HEAD_PREDICTIONS,
                           kernel_regularizer=keras.regularizers.l2(l2) if l2 else None)(x)
    return keras.Model(inputs, outputs, name="riim_classifier")


def build_head(feature_dim: int, num_classes: int, dropout: float, l2: float) -> keras.Model:
    """Return the head alone, for cross-validating it on cached backbone features."""
    layers = keras.layers
    inputs = keras.Input((feature_dim,), name="features")
    x = layers.Dropout(dropout, name=HEAD_DROPOUT)(inputs)
    outputs = layers.Dense(num_classes, activation="softmax", name=HEAD_PREDICTIONS,
                           kernel_regularizer=keras.regularizers.l2(l2) if l2 else None)(x)
    return keras.Model(inputs, outputs, name="head")


def compile_model(model: keras.Model, learning_rate: float) -> keras.Model:
    """Compile for integer labels with Adam."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def freeze_backbone(model: keras.Model) -> None:
    """Freeze the whole backbone so only the new head trains (phase 1 of fine-tuning)."""
    model.get_layer(BACKBONE).trainable = False


def unfreeze_top(model: keras.Model, n_layers: int) -> list:
    """Unfreeze the backbone's top ``n_layers`` layers, keeping every batch-norm layer frozen.

    Return the names of the layers that became trainable. Recompile the model afterwards.
    """
    base = model.get_layer(BACKBONE)
    base.trainable = True
    cut = max(0, len(base.layers) - n_layers)
    unfrozen = []
    for i, layer in enumerate(base.layers):
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = i >= cut and not is_bn
        if layer.trainable and layer.weights:
            unfrozen.append(layer.name)
    return unfrozen


def feature_model(model: keras.Model) -> keras.Model:
    """Return the map from images to pooled backbone features (the head's input)."""
    return keras.Model(model.input, model.get_layer(HEAD_POOL).output, name="features")


def layer_table(model: keras.Model) -> list:
    """List every layer (backbone layers expanded) with type, output shape and parameter counts."""
    rows = []

    def add(layer, prefix=""):
        try:
            shape = layer.output_shape
        except AttributeError:
            shape = None
        rows.append({
            "name": prefix + layer.name,
            "type": type(layer).__name__,
            "output_shape": _shape_text(shape),
            "params": int(layer.count_params()),
            "trainable": bool(layer.trainable),
        })
        if isinstance(layer, keras.Model):
            for inner in layer.layers:
                add(inner, prefix + layer.name + "/")

    for layer in model.layers:
        add(layer)
    return rows


def _shape_text(shape) -> str:
    if shape is None:
        return ""
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def parameter_counts(model: keras.Model) -> dict:
    """Return total, trainable and non-trainable parameter counts."""
    trainable = int(sum(keras.backend.count_params(w) for w in model.trainable_weights))
    total = int(model.count_params())
    return {"total": total, "trainable": trainable, "non_trainable": total - trainable}
