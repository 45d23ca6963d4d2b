"""RIIM ML engine: data, augmentation, CNNs, fine-tuning, validation, model cards.

Independent of Django; usable from the CLI (``python -m ml``) or a notebook.
Heavy modules (TensorFlow) are imported lazily by the submodules that need them.
"""

__version__ = "0.1.0"
