"""HTTP: two clients held to one set of rules, their retries and per-host politeness.

- :mod:`.client`: what both clients share — request headers, redirect rules, the verdict on a
  final response, :class:`~.client.FetchConfig` and :class:`~.client.FetchResult`;
- :mod:`.fetcher`: :class:`~.fetcher.Fetcher`, urllib3 in a thread pool (bodies: full checks);
- :mod:`.prober` and :mod:`.probe_process`: :class:`~.prober.Prober`, aiohttp on one event loop
  in a child process (availability and conditional requests in bulk);
- :mod:`.urls` (URLs as sent on the wire), :mod:`.retry`, :mod:`.ratelimit`.
"""
