"""Root conftest: registers the hypothesis profiles before hypothesis' plugin reads --hypothesis-profile.

Only a conftest loaded at start-up (or a -p plugin) runs early enough; parity_tests/conftest.py
holds the suite's fixtures, this file only the profile registration.
"""

import parity_tests.hypothesis_profiles  # noqa: F401  (registration side effect)
