"""Rep labels in a crowded city no longer sit on top of each other (territory_ops.maps.layout)."""

from __future__ import annotations

import numpy as np

from territory_ops.maps.layout import declutter_labels


def boxes(corners: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    return np.hstack([corners, corners + sizes])


def test_clustered_labels_do_not_overlap_each_other_or_the_stars():
    # eight reps within a few points of each other (Los Angeles at national scale)
    rng = np.random.default_rng(0)
    anchors = np.array([500.0, 300.0]) + rng.normal(0, 4, size=(8, 2))
    sizes = np.tile([45.0, 9.5], (8, 1))
    corners = declutter_labels(anchors, sizes, marker=10.0)
    b = boxes(corners, sizes)
    for i in range(8):
        for j in range(i + 1, 8):
            dx = min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0])
            dy = min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1])
            assert dx <= 0 or dy <= 0, (i, j)
        star = np.hstack([anchors - 5, anchors + 5])
        dx = np.minimum(b[i, 2], star[:, 2]) - np.maximum(b[i, 0], star[:, 0])
        dy = np.minimum(b[i, 3], star[:, 3]) - np.maximum(b[i, 1], star[:, 1])
        assert not ((dx > 0) & (dy > 0)).any(), i
    # deterministic, and a lonely rep keeps its label right next to its star
    assert np.array_equal(corners, declutter_labels(anchors, sizes, marker=10.0))
    [alone] = declutter_labels(np.array([[100.0, 100.0]]), np.array([[40.0, 9.0]]), marker=10.0)
    assert 100.0 < alone[0] <= 110.0 and abs(alone[1] + 4.5 - 100.0) < 1e-9
