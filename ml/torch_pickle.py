"""Read a state dict from PyTorch's legacy (non-zip) ``torch.save`` file with numpy alone; torch is not needed.

The format (``torch.serialization._legacy_save``) is a sequence of pickles: the magic number, the
protocol version 1001, the system info, the saved object, and the sorted list of storage keys; then,
for each key in that order, an 8-byte little-endian element count and the storage's raw little-endian
data. Inside the saved object a storage is a persistent id ``('storage', storage_type, key, location,
numel, view_metadata)`` and a tensor is ``torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, requires_grad, backward_hooks)``.

A pickle can call anything it names, so the unpickler resolves exactly four names (``ALLOWED``) to
stand-ins defined here and refuses every other one before it is called. The file's SHA-256 is checked
before any pickle is read, on the same bytes that are then parsed.
"""

from __future__ import annotations

import collections
import hashlib
import io
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
STORAGE_DTYPES = {"FloatStorage": np.dtype("<f4"), "LongStorage": np.dtype("<i8")}


class WeightsRefused(ValueError):
    """A weights file that is not read: ``key`` says why in a word, ``reason`` in a sentence."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class _StorageType:
    name: str

    @property
    def dtype(self) -> np.dtype:
        return STORAGE_DTYPES[self.name]


@dataclass(frozen=True)
class _Storage:
    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _Tensor:
    storage: _Storage
    offset: int
    size: tuple
    stride: tuple


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    """Stand-in for ``torch._utils._rebuild_tensor_v2``: remember where the tensor lies, build nothing."""
    ints = (offset, *size, *stride)
    if (not isinstance(storage, _Storage) or not isinstance(size, tuple) or not isinstance(stride, tuple)
            or len(size) != len(stride) or not all(type(n) is int and n >= 0 for n in ints)):
        raise WeightsRefused("malformed", "a tensor is not (storage, offset, size, stride) of non-negative ints")
    if backward_hooks:
        raise WeightsRefused("malformed", "a tensor has backward hooks")
    return _Tensor(storage, offset, size, stride)


ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch", "FloatStorage"): _StorageType("FloatStorage"),
    ("torch", "LongStorage"): _StorageType("LongStorage"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only ``ALLOWED`` names; storages become ``_Storage`` records collected in ``storages``."""

    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise WeightsRefused("forbidden_global", f"the pickle names {module}.{name}, which is not allowed") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise WeightsRefused("malformed", f"unknown persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel, view_metadata = pid
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or type(numel) is not int:
            raise WeightsRefused("malformed", f"bad storage record {pid!r:.80}")
        if view_metadata is not None:
            raise WeightsRefused("malformed", "storage views are not supported")
        storage = self.storages.setdefault(key, _Storage(key, storage_type.dtype, numel))
        if storage != _Storage(key, storage_type.dtype, numel):
            raise WeightsRefused("malformed", f"storage {key} is declared twice differently")
        return storage


def read_state_dict(path: str | Path, sha256: str | None) -> dict[str, np.ndarray]:
    """Return the tensors of a legacy ``torch.save`` state dict as numpy arrays, by key.

    ``sha256`` is the expected hex digest of the file (``None`` skips the check: only for files the
    caller wrote itself). Raises ``WeightsRefused`` on a digest mismatch, a name outside ``ALLOWED``
    or a file that does not follow the format; nothing in the file is run.
    """
    data = Path(path).read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256.lower():
        raise WeightsRefused("checksum_mismatch", f"{Path(path).name} does not have the expected SHA-256")
    stream = io.BytesIO(data)
    storages: dict[str, _Storage] = {}

    def load():
        try:
            return _RestrictedUnpickler(stream, storages).load()
        except WeightsRefused:
            raise
        except Exception as error:  # a truncated or corrupt pickle: EOFError, UnpicklingError, TypeError, ...
            raise WeightsRefused("malformed", f"not a legacy PyTorch file ({type(error).__name__})") from None

    if load() != MAGIC_NUMBER or load() != PROTOCOL_VERSION:
        raise WeightsRefused("malformed", "not a legacy PyTorch file (magic number or protocol)")
    info = load()
    if not isinstance(info, dict) or info.get("little_endian") is not True:
        raise WeightsRefused("malformed", "only little-endian files are read")
    state = load()
    keys = load()
    if not isinstance(keys, list) or sorted(keys) != sorted(storages):
        raise WeightsRefused("malformed", "the storage key list does not match the storages used")
    arrays = {}
    for key in keys:
        storage = storages[key]
        header = stream.read(8)
        raw = stream.read(storage.numel * storage.dtype.itemsize)
        if (len(header) != 8 or struct.unpack("<q", header)[0] != storage.numel
                or len(raw) != storage.numel * storage.dtype.itemsize):
            raise WeightsRefused("malformed", f"storage {key} is truncated or has the wrong size")
        arrays[key] = np.frombuffer(raw, storage.dtype)
    if stream.read(1):
        raise WeightsRefused("malformed", "unexpected bytes after the last storage")
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, _Tensor) for k, v in state.items()):
        raise WeightsRefused("malformed", "the saved object is not a state dict of tensors")
    return {name: _materialise(tensor, arrays[tensor.storage.key]) for name, tensor in state.items()}


def _materialise(tensor: _Tensor, flat: np.ndarray) -> np.ndarray:
    """Copy a tensor out of its storage (native byte order), checking that its view stays inside it."""
    if 0 not in tensor.size:
        last = tensor.offset + sum((n - 1) * s for n, s in zip(tensor.size, tensor.stride))
        if last >= flat.size:
            raise WeightsRefused("malformed", f"a tensor reaches past the end of storage {tensor.storage.key}")
    item = flat.itemsize
    view = np.lib.stride_tricks.as_strided(flat[tensor.offset:] if flat.size else flat, tensor.size,
                                           tuple(s * item for s in tensor.stride), writeable=False)
    return view.astype(flat.dtype.newbyteorder("="), copy=True)
