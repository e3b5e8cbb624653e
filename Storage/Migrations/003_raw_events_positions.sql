-- Where each raw event sits in Kafka, precisely enough to rebuild state from: the topic's epoch (a digest of Kafka's
-- topic id, which changes when the topic is recreated and offsets start again from 0; 0 when unknown) joins the
-- partition and offset. User grains read their events back by user and position when they activate.
ALTER TABLE raw_events ADD COLUMN IF NOT EXISTS kafka_epoch integer NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS raw_events_user_id_position_idx ON raw_events (user_id, kafka_epoch, kafka_partition, kafka_offset);
