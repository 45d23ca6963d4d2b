"""Computations behind the learning lab: small, fast, numpy and scikit-learn only.

Each module takes arrays (embeddings, labels, curves, ONNX file paths) and returns
plain dicts and lists that a page can draw; none of them knows about Django.
"""
