-- The live KPIs (GET /api/kpis, pushed to the dashboard about once a second) count the events stored in the last
-- seconds and minute by ingested_at. Without this index each read scans raw_events whole (325 ms at 1M rows, on the
-- 2-core development machine); with it, a range scan over the last minute's rows (under 1 ms). ingested_at only grows,
-- so inserts append at the index's right edge: inserting 300k rows took the same time with and without it (within
-- the run-to-run noise of ±10%). Built without CONCURRENTLY (migrations run in a transaction): writes to raw_events
-- wait while it builds, about 1 s per million rows.
CREATE INDEX IF NOT EXISTS raw_events_ingested_at_idx ON raw_events (ingested_at);
