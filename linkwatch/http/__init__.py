"""HTTP: the thread-pool fetcher and the bulk prober, their shared rules, retries and per-host politeness."""
