"""Numbers the browser page reads from /config.json, kept in Python so there is one source.

The tolerance mirrors the float32 default of `toolkit parity`: an element passes
when |got - ref| <= atol + rtol * |ref|. The page never hard-codes it.
"""

FLOAT32_ATOL = 1e-4
FLOAT32_RTOL = 1e-3

# How many held-out test digits the page offers to click: one per class, first ones found.
SAMPLES_PER_CLASS = 1


def tolerance_json() -> dict:
    """The tolerance as the page's config.json carries it."""
    return {"atol": FLOAT32_ATOL, "rtol": FLOAT32_RTOL}
