"""The stack's AWS endpoint: moto (EC2, Secrets Manager) plus a real SSM Run Command."""

from reference.aws.regions import memoize_region_lookups

# Before anything imports moto's EC2 models (they look regions up at import time).
memoize_region_lookups()
