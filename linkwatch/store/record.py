"""Stage 5: record a judged observation — the index row, the WARC records, the ingest event.

Runs in the run's main thread only: one writer for the index and for the WARC file.
"""
from __future__ import annotations

from .. import __version__
from .blobs import BlobStore
from ..compare import Finding
from .index import Event, Index
from ..observation import Observation
from .warc import Earlier, WarcLog

AGENT = f"linkwatch {__version__}"


class Recorder:
    def __init__(self, index: Index, blobs: BlobStore, warc: WarcLog | None, stamp: str,
                 campaign: str | None = None) -> None:
        self.index, self.blobs, self.warc, self.stamp, self.campaign = index, blobs, warc, stamp, campaign

    def record(self, obs: Observation, findings: list[Finding], stored: bool) -> None:
        """Write ``obs`` everywhere it belongs. ``stored``: its bytes were just put in the blob store.

        In a campaign that observed the document already (another worker got there first), nothing."""
        earlier = self.index.campaign_observation(self.campaign, obs.document_id) if self.campaign else None
        if earlier is not None:
            obs.id = earlier
            return
        new_snapshot = stored and obs.sha256 is not None and self.index.snapshot(obs.sha256) is None
        if self.warc is not None:
            self._warc(obs, findings, stored, new_snapshot)
        self.index.record(obs, findings, self.stamp if stored else None, self.campaign)
        if stored and obs.sha256 in self.blobs.repaired:
            self.blobs.repaired.discard(obs.sha256)
            self.index.add_event(Event(
                at=obs.observed_at, kind="repair", outcome="success", sha256=obs.sha256,
                document_id=obs.document_id, agent=AGENT,
                detail=f"{BlobStore.relative_path(obs.sha256)} no longer hashed to its name; replaced by the "
                       f"bytes fetched from {obs.final_url or obs.url}, which do (sha256 and sha512)"))
        if new_snapshot and obs.sha256:
            self.index.add_event(Event(
                at=obs.observed_at, kind="ingest", outcome="success", sha256=obs.sha256,
                document_id=obs.document_id, agent=AGENT,
                detail=f"stored {BlobStore.relative_path(obs.sha256)} ({obs.size} bytes, sha256 and sha512) "
                       f"from {obs.final_url or obs.url}"))

    def _warc(self, obs: Observation, findings: list[Finding], stored: bool, new_snapshot: bool) -> None:
        assert self.warc is not None
        body = self.blobs.path_for(obs.sha256) if stored and obs.sha256 else None
        earlier = None if new_snapshot or not obs.sha256 else self._earlier(obs.sha256)
        obs.warc_record_id = self.warc.observation(obs, findings, body, earlier)
        obs.warc_file = self.warc.filename
        if body is not None and obs.sha256:
            self.blobs.release(obs.sha256)  # in the WARC and the store: no local copy needed

    def flush(self) -> None:
        """Hand the WARC records written so far to the operating system (a process killed after
        the index commits them must not lose them with its buffer)."""
        if self.warc is not None:
            self.warc.stream.flush()

    def _earlier(self, sha256: str) -> Earlier | None:
        row = self.index.first_warc_record(sha256)
        return Earlier(url=row[0], date=row[1], record_id=row[2]) if row else None
