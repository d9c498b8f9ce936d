"""The classroom relay: one upstream dataset, read with the instructor's credential, served to a
class as a plain zarr/OME-Zarr HTTP tree behind a class password or per-student tokens.

- ``app``: ``Relay``, the aiohttp application on the kit loop (routing, HTTP semantics);
- ``upstream``: reads through the kit's store layer, one request per key however many ask;
- ``memcache``: the in-memory LRU of answers (a small hot layer over the persistent cache);
- ``consolidated``: consolidated metadata synthesised from the NGFF documents, never by listing;
- ``students``: who is asking (class password or tokens file);
- ``ratelimit``: a token bucket per student;
- ``paths``: the request path, checked (the Range header: ``kit.cache.byterange``, shared
  with the demo server);
- ``accesslog``, ``status``: a line per request without secrets; the counters and the status page.
"""

from kit.relay.app import Relay
from kit.relay.students import ClassPassword, StudentTokens, load_tokens

__all__ = ["ClassPassword", "Relay", "StudentTokens", "load_tokens"]
