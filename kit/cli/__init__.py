"""``ngff-kit``: the kit from a terminal (demo, info, preview, serve, consolidate).

Every command is a small function that returns an exit code; ``main`` turns the kit's typed
errors into one line on stderr and a documented exit code, so scripts and CI can branch on
the code and a user never sees a traceback or a secret:

    0 ok   2 usage   3 not found   4 auth failure (401/403)
    5 invalid metadata / unsupported version   6 remote error   1 anything else

One concern per module: ``app`` (entry point, errors and warnings), ``parser`` (options, help
and examples), ``exits`` (exit codes), ``output`` (stdout/stderr, secret scrubbing),
``credentials`` (credential options; the variable names come from ``kit.auth.env``), ``info``
(over ``kit.render.describe``, the one node summary), ``preview``, ``demo``, ``serve``,
``consolidate``.
"""

from kit.cli.app import main

__all__ = ["main"]
