"""Build the optional C fast paths (everything else is in pyproject.toml): the capture
child's parse-and-aggregate with the flow table's merge, and the collector's
decode-and-merge.

``optional=True``: without a compiler the install still succeeds and netop runs its
pure-Python paths (the extensions can also be built on first use, see
netop/native/build.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "netop.native._fastflow",
            ["netop/native/_fastflow.c"],
            depends=["netop/native/kpi.h", "netop/native/fring.h"],
            optional=True,
        ),
        Extension(
            "netop.sources.collector._fastcoll",
            ["netop/sources/collector/_fastcoll.c"],
            optional=True,
        ),
        Extension("netop.outputs._ipfixenc", ["netop/outputs/_ipfixenc.c"], optional=True),
    ]
)
