"""Scale-out: many models' exports and parity checks spread over worker processes (`--jobs N`) or a Ray
cluster (`--ray`).

The work is cut into units, one per (model, target, quantization): a unit exports that artifact (or
reuses it) and, for parity, runs it in every applicable runtime. Units are independent: each writes
its own artifact folder under its own lock, and its Keras references are computed where it runs (the
sample inputs are seeded, so every worker computes the same ones). Before any unit, one check per model
loads it and validates what the user passed (inputs, --task) in a worker, so bad input still fails
before anything is exported. Results travel as JSON and are put back in unit order, so a parallel run
writes the rows a serial one would, in the same order. docs/scaling.md has the measurements.
"""
