"""The packages an install gets: `fake_stripe` and its subpackages, with the reference client and
the scenario runner under the distribution's own name (`fake_stripe.client`,
`fake_stripe.scenarios`), so that no top-level `client` or `scenarios` lands on a user's path.
In a checkout they stay the top-level folders `client/` and `scenarios/`."""

from setuptools import find_namespace_packages, setup

MAPPED = {"fake_stripe.client": "client", "fake_stripe.scenarios": "scenarios"}
# Folders of data files (the static assets, the scenario catalog) count as packages too.
OWN = find_namespace_packages(include=["fake_stripe", "fake_stripe.*"])

setup(
    packages=[*OWN, *MAPPED, "fake_stripe.scenarios.catalog"],
    package_dir=MAPPED,
)
