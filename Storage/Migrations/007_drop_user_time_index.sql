-- raw_events had two indexes led by user_id: (user_id, event_time) and (user_id, kafka_epoch, kafka_partition,
-- kafka_offset). Index upkeep was the largest part of PostgreSQL's CPU under load (a third of its samples at 10,000
-- events/s in ./bench.sh throughput), and an index led by a random text key costs the most per row. Every query by user
-- (a user grain's catch-up, the churn_features audit, a window rebuilding its sessions) is served by the position
-- index: it narrows to the user's own rows, which are few.
DROP INDEX IF EXISTS raw_events_user_id_event_time_idx;
