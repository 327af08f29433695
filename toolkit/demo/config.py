"""Numbers the browser page reads from /config.json, taken from Python so there is one source.

The tolerance is the float32 default of `toolkit parity` (toolkit.parity.tolerances): an
element passes when |got - ref| <= atol + rtol * |ref|. The page never hard-codes it.
"""

from toolkit.parity.tolerances import DEFAULT_FLOAT32

FLOAT32_ATOL = DEFAULT_FLOAT32.atol
FLOAT32_RTOL = DEFAULT_FLOAT32.rtol

# How many held-out test digits the page offers to click: one per class, first ones found.
SAMPLES_PER_CLASS = 1

# Runs behind each latency the page shows (it shows their median): enough to hide one slow run,
# few enough that predicting while drawing keeps up with the pointer.
LATENCY_RUNS = 5


def tolerance_json() -> dict:
    """The tolerance as the page's config.json carries it."""
    return {"atol": FLOAT32_ATOL, "rtol": FLOAT32_RTOL}
