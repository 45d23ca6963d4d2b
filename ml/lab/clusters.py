"""Unsupervised view of a project: k-means on embeddings, a 2-D map, and agreement with the labels."""

from __future__ import annotations

import numpy as np


def project_2d(x: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """Return (n, 2) coordinates of the embeddings by PCA or t-SNE."""
    from sklearn.decomposition import PCA

    x = np.asarray(x, np.float64)
    if len(x) < 3:
        return np.zeros((len(x), 2))
    reduced = PCA(n_components=min(50, x.shape[1], len(x)), random_state=seed).fit_transform(x)
    if method == "tsne" and len(x) > 5:
        from sklearn.manifold import TSNE

        perplexity = float(max(2.0, min(30.0, (len(x) - 1) / 3)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced)
    return reduced[:, :2] if reduced.shape[1] >= 2 else np.pad(reduced, ((0, 0), (0, 2 - reduced.shape[1])))


def agreement(clusters: np.ndarray, labels: np.ndarray) -> dict:
    """Return how well clusters match labels: ARI, NMI, purity, best one-to-one matching and the table."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    from sklearn.metrics.cluster import contingency_matrix

    table = contingency_matrix(labels, clusters)  # rows: labels, columns: clusters
    rows, cols = linear_sum_assignment(-table)
    return {
        "ari": float(adjusted_rand_score(labels, clusters)),
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "purity": float(table.max(axis=0).sum() / table.sum()),
        "matched_accuracy": float(table[rows, cols].sum() / table.sum()),
        "table": table.tolist(),
    }


def cluster_map(x: np.ndarray, labels: np.ndarray, k: int, method: str = "pca", seed: int = 0) -> dict:
    """Cluster embeddings with k-means (on standardized PCA features) and return the map and agreement."""
    from sklearn.cluster import KMeans

    x = np.asarray(x, np.float64)
    standardized = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
    clusters = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(standardized)
    coords = project_2d(standardized, method=method, seed=seed)
    return {
        "k": int(k),
        "method": method,
        "clusters": clusters.astype(int).tolist(),
        "coords": np.round(coords, 4).tolist(),
        "agreement": agreement(clusters, np.asarray(labels)),
    }
