"""Parity: tolerances, per-output comparison, running artifacts against Keras, and the matrix reports."""
