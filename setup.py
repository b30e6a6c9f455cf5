"""Build the optional C fast path of the capture child (everything else is in pyproject.toml).

``optional=True``: without a compiler the install still succeeds and netop runs its
pure-Python path (the extension can also be built on first use, see netop/native/fastpath.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("netop.native._fastflow", ["netop/native/_fastflow.c"], optional=True)
    ]
)
