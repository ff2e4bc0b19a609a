"""Published numbers of the deep-narrow paper (Lee et al.), in percent.

Validation accuracy from "Improved weight initialization for deep and
narrow feedforward neural network": Table 1 (FFNNs with 0, 512 or 16
hidden units; the entire training set or k samples per class; after 10 and
100 epochs) and Table 2 (120 hidden layers alternating 10 and 6 units;
MNIST and Fashion-MNIST after 10 epochs). Each row keeps the paper's column
order, `PAPER_INITIALIZERS`, as pairs of values.

Example:

>>> table1_value("all", "mnist", 16, "epsilon_orthogonal", 10)
92.2
>>> table2_value("relu", "fashion_mnist", "zero_hadamard")
69.4
"""

from __future__ import annotations

#: The paper's columns: Proposed, Orthogonal, Xavier, He, ZerO, Identity,
#: RAI, GSM, as this package's (or Keras') initializer names.
PAPER_INITIALIZERS = (
    "epsilon_orthogonal",
    "orthogonal",
    "glorot_uniform",
    "he_normal",
    "zero_hadamard",
    "identity",
    "randomized_asymmetric",
    "gaussian_submatrix",
)

#: (samples per class, 0 = entire dataset; dataset; hidden units) ->
#: (after 10 epochs, after 100 epochs) per initializer, in column order.
_TABLE1 = {
    ("all", "mnist", 0): (
        (88.2, 88.5), (88.1, 88.7), (86.6, 87.7), (87.9, 89.1), (88.1, 88.8), (88, 89.1), (88, 88.2), (87.1, 89.4),
    ),
    ("all", "fashion_mnist", 0): (
        (80.4, 80.6), (79.6, 79), (79.5, 78.1), (79.5, 80.1), (78.1, 80.4), (78.4, 80.3), (79.1, 80.4), (75.8, 80),
    ),
    ("all", "mnist", 512): (
        (96.5, 97.6), (95.8, 96.3), (95.8, 96.5), (96.4, 96.6), (95.1, 96.5), (96.2, 96.5), (95.9, 97.5), (88, 89.4),
    ),
    ("all", "fashion_mnist", 512): (
        (84.5, 85.1), (84.4, 85.4), (84.5, 84.5), (84.2, 85.1), (84.5, 84.6), (84.8, 84.9), (84.9, 85.2), (78.3, 80.3),
    ),
    ("all", "mnist", 16): (
        (92.2, 94), (88, 90), (83.5, 86), (77.2, 85.5), (60.1, 84.2), (38.7, 40.5), (91, 92.1), (29, 77.1),
    ),
    ("all", "fashion_mnist", 16): (
        (82.3, 84.2), (61.1, 67.3), (56.4, 69.2), (53.3, 60.7), (60.1, 83.1), (78.1, 81.2), (60, 78.4), (34.9, 37.3),
    ),
    (4, "mnist", 0): (
        (55.5, 54.1), (29.1, 39.7), (26.1, 40.5), (23.1, 38.7), (51.1, 50.8), (54.2, 53.5), (27.6, 43.8), (26.1, 45.6),
    ),
    (4, "fashion_mnist", 0): (
        (54.2, 57.1), (42.7, 51.4), (29.5, 48.1), (34.2, 51.1), (51, 50.1), (52.8, 56.1), (36.5, 53.9), (33.7, 51.4),
    ),
    (4, "mnist", 512): (
        (56.5, 51.0), (49.7, 50.1), (44.3, 45.2), (46.5, 48.9), (22, 46.3), (51.9, 50.8), (29.9, 38.8), (23.3, 37.2),
    ),
    (4, "fashion_mnist", 512): (
        (46.7, 55.6), (51, 56), (54, 54.6), (51, 56.8), (37.1, 50.4), (45.2, 53.4), (48.7, 56.2), (45.1, 53.6),
    ),
    (4, "mnist", 16): (
        (51.2, 52.9), (22.5, 31.7), (18.7, 26.3), (20, 25), (9.1, 10.3), (9.6, 10.3), (13.7, 25.1), (11.9, 18.8),
    ),
    (4, "fashion_mnist", 16): (
        (43.3, 56.3), (23.4, 24.7), (18.8, 17.8), (20, 20.8), (10.8, 10.7), (33.3, 41.5), (14.9, 21), (10.6, 26.4),
    ),
    (2, "mnist", 0): (
        (46.4, 46.5), (23.7, 31.6), (19.6, 30.1), (20.7, 28.7), (42.6, 43.3), (44.1, 43.6), (26.3, 37.8), (21.2, 34.5),
    ),
    (2, "fashion_mnist", 0): (
        (49.1, 50.3), (38.3, 43.3), (31.4, 41.7), (27.5, 38.6), (43, 46.1), (45.5, 42.7), (36, 40), (38.2, 44.7),
    ),
    (2, "mnist", 512): (
        (39.7, 37.1), (33.8, 36.3), (32.7, 33.1), (39.3, 39.1), (27.2, 33.4), (45.9, 45.4), (38.5, 42.4), (37.7, 41.1),
    ),
    (2, "fashion_mnist", 512): (
        (46.8, 46.2), (45, 48.4), (43.4, 44.7), (42.4, 51.2), (34.7, 43.8), (44.2, 47.8), (38.8, 39.9), (40.1, 42.6),
    ),
    (2, "mnist", 16): (
        (44.3, 41.5), (19.7, 23.6), (16.6, 21.6), (19.3, 22.2), (10.1, 11), (9.6, 9.5), (11.2, 22.8), (12.5, 22.6),
    ),
    (2, "fashion_mnist", 16): (
        (43.8, 47.9), (22.1, 26.1), (18.6, 20), (19.4, 22.7), (9.9, 10.5), (29.1, 39.6), (24, 26.6), (13.4, 21.9),
    ),
    (1, "mnist", 0): (
        (37.1, 38.2), (20.6, 23.9), (29.1, 36.9), (25.4, 33.8), (9.7, 33), (12.6, 12.4), (19.1, 23.6), (23.1, 27.4),
    ),
    (1, "fashion_mnist", 0): (
        (43.5, 39.4), (30.3, 33.7), (27.4, 30.8), (24.6, 35.8), (9.7, 25.8), (40.7, 40.6), (18, 33.7), (34.5, 40.6),
    ),
    (1, "mnist", 512): (
        (36.1, 34.9), (28.2, 27.7), (31.2, 32.3), (27, 27.4), (22.2, 29.8), (39.2, 40.3), (32.5, 29.3), (31.6, 36.6),
    ),
    (1, "fashion_mnist", 512): (
        (39.2, 37.4), (36.7, 34.7), (38.5, 37.6), (36.1, 35), (31.7, 37), (0.3, 3.4), (39, 37.2), (35.2, 36),
    ),
    (1, "mnist", 16): (
        (33.5, 34.2), (16.5, 19.4), (14.3, 16.8), (14.3, 19.9), (10.6, 11.6), (10, 9.8), (18.1, 22.6), (18.4, 19.8),
    ),
    (1, "fashion_mnist", 16): (
        (35, 34.2), (18.7, 22.9), (16.1, 16.8), (19.8, 22.8), (10.3, 10.5), (7, 7.2), (13.7, 19.7), (15.9, 21.9),
    ),
}

#: activation -> (MNIST, Fashion-MNIST) per initializer, in column order.
_TABLE2 = {
    "tanh": (
        (11.1, 10.0), (14.3, 9.9), (11.0, 9.9), (11.7, 9.9), (10.3, 9.9), (27.0, 9.9), (16.1, 10.0), (12.3, 13.6),
    ),
    "sigmoid": (
        (11.3, 10.0), (10.3, 10.0), (10.3, 9.9), (11.3, 9.9), (10.3, 10.0), (10.2, 9.9), (10.2, 9.9), (10.3, 10.0),
    ),
    "selu": (
        (38.3, 33.3), (11.7, 9.9), (10.2, 9.9), (9.8, 9.9), (33.0, 34.5), (10.4, 9.9), (10.2, 9.9), (12.0, 11.0),
    ),
    "gelu": (
        (83.6, 68.1), (65.5, 10.0), (11.2, 10.0), (11.3, 10.9), (76.2, 65), (11.3, 10.0), (11.0, 34.0), (13.1, 34.4),
    ),
    "relu": (
        (86.7, 76.5), (11.3, 10.0), (11.3, 10.1), (11.3, 9.9), (82.9, 69.4), (11.3, 10.0), (11.3, 10.0), (11.3, 8.6),
    ),
}

#: Epochs of Table 1's two columns.
TABLE1_EPOCHS = (10, 100)
#: Datasets of Table 2's two columns.
TABLE2_DATASETS = ("mnist", "fashion_mnist")


def table1_value(samples_per_class: int | str, dataset: str, hidden: int, initializer: str,
                 epochs: int) -> float | None:
    """Table 1's value, or ``None`` where the paper has no such cell."""
    row = _TABLE1.get((samples_per_class, dataset, hidden))
    if row is None or initializer not in PAPER_INITIALIZERS or epochs not in TABLE1_EPOCHS:
        return None
    return row[PAPER_INITIALIZERS.index(initializer)][TABLE1_EPOCHS.index(epochs)]


def table2_value(activation: str, dataset: str, initializer: str) -> float | None:
    """Table 2's value, or ``None`` where the paper has no such cell."""
    row = _TABLE2.get(activation)
    if row is None or initializer not in PAPER_INITIALIZERS or dataset not in TABLE2_DATASETS:
        return None
    return row[PAPER_INITIALIZERS.index(initializer)][TABLE2_DATASETS.index(dataset)]
