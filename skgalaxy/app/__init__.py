"""The labelling web page of a hunt (optional: ``pip install "skgalaxy[app]"``).

``skgalaxy hunt --data FILE --session DIR`` starts it; :func:`serve` and
:func:`create_app` are the same from Python. The core package never imports
this module.
"""

from ._server import MAX_BODY_BYTES, create_app, display_png, serve

__all__ = ["MAX_BODY_BYTES", "create_app", "display_png", "serve"]
