"""`newsletter preview`: the newsletter built into a temporary folder, served with a preview UI, rebuilt on change.

- `state`: the builds, the state pages are shown and the epoch they wait on; given a builder;
- `builder`: the builder that runs the build machinery and describes each issue;
- `routes`: a request's path in, a response out, without sockets; `emailview`: the issue page;
- `app`: `Preview`, the builds and their routes together;
- `watch`: the watchers that rebuild on change; `server`: the HTTP server and `run_preview`.
"""

from __future__ import annotations

from .app import Preview
from .server import run_preview

__all__ = ["Preview", "run_preview"]
