"""The Keras side: load a model, describe its named inputs and outputs, call it, read input files."""
