"""App configurations of the project itself."""
from django.contrib.staticfiles.apps import StaticFilesConfig


class RiimStaticFilesConfig(StaticFilesConfig):
    """collectstatic without what the pages never load.

    The npm packages served under static/vendor ship source maps, type declarations and
    Node builds: about 150 MB that collectstatic would copy and compress on every setup.
    """

    ignore_patterns = [
        *StaticFilesConfig.ignore_patterns,
        "*.map",
        "*.d.ts",
        "*.tsbuildinfo",
        "*.min.js.html",
        "*.node.js",
        "*.node.min.js",
        "*.node.min.mjs",
        "miniprogram",
    ]
