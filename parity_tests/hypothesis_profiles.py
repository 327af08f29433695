"""Hypothesis profiles for the random-model tests: "ci" (the default) and "long".

    pytest parity_tests/test_random_models.py                           # ci: 10 fixed examples
    pytest parity_tests/test_random_models.py --hypothesis-profile=long   # 200 fresh examples

hypothesis' pytest plugin loads a --hypothesis-profile before test modules are
imported, so the profiles are registered from the root conftest.py. They are not
loaded globally: test_random_models.py applies `active_profile()` to itself only.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from toolkit.files import cache_dir

CI = "ci"
LONG = "long"
# One example exports to four targets and runs five runtimes: seconds, not milliseconds.
_SLOW_EXAMPLES = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Bounded and reproducible: the same examples on every run, no shrinking (a failure prints the
# recipe and its standalone reproduction; rerun with the long profile's shrinking to minimise it).
settings.register_profile(
    CI, max_examples=10, derandomize=True, database=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate), print_blob=True, **_SLOW_EXAMPLES,
)
# Fresh examples each run (--hypothesis-seed=N repeats one), with shrinking; failures are kept in
# an example database in the toolkit's cache folder and replayed first on the next long run.
settings.register_profile(
    LONG, max_examples=200, print_blob=True,
    database=DirectoryBasedExampleDatabase(cache_dir() / "hypothesis"), **_SLOW_EXAMPLES,
)


def active_profile() -> settings:
    """The profile chosen with --hypothesis-profile, or ci when none was chosen.

    Hypothesis' other flags derive a profile from the current one ("default-with-verbose-verbosity"
    for --hypothesis-verbosity alone); without a profile of ours, ci applies with their verbosity.
    """
    name = settings.get_current_profile_name()
    if name == "default" or name.startswith("default-with-"):
        return settings(settings.get_profile(CI), verbosity=settings.default.verbosity)
    return settings.get_profile(name)
