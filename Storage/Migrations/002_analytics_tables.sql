-- The analytics tables. Their column names are a public contract: people query them with psql and other components
-- read and write them by name. Add columns freely; never rename or drop one here (write a new migration instead).
-- Times are timestamptz (an instant, shown in the session's time zone); money is numeric (exact).

-- Every accepted event, once: Kafka delivers at least once, so writers insert with ON CONFLICT (event_id) DO NOTHING.
CREATE TABLE IF NOT EXISTS raw_events
(
    event_id        uuid        NOT NULL,
    user_id         text        NOT NULL,
    session_id      text        NOT NULL,
    event_type      text        NOT NULL,
    product_id      text        NOT NULL,
    category        text        NOT NULL,
    price           numeric     NOT NULL,
    event_time      timestamptz NOT NULL,
    device          text        NULL,
    channel         text        NULL,
    kafka_partition integer     NOT NULL,   -- where it was read from, to trace an event back to the log
    kafka_offset    bigint      NOT NULL,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT raw_events_pkey PRIMARY KEY (event_id),
    CONSTRAINT raw_events_event_type_check CHECK (event_type IN ('view', 'add_to_cart', 'purchase')),
    CONSTRAINT raw_events_price_check CHECK (price >= 0)
);

CREATE INDEX IF NOT EXISTS raw_events_event_time_idx ON raw_events (event_time);
CREATE INDEX IF NOT EXISTS raw_events_user_id_event_time_idx ON raw_events (user_id, event_time);

-- The conversion funnel per event-time window. A window is rewritten while late events may still arrive and marked
-- final once it closes.
CREATE TABLE IF NOT EXISTS funnel_summary
(
    window_start      timestamptz NOT NULL,
    window_end        timestamptz NOT NULL,
    views             bigint      NOT NULL DEFAULT 0,
    add_to_carts      bigint      NOT NULL DEFAULT 0,
    purchases         bigint      NOT NULL DEFAULT 0,
    unique_viewers    bigint      NOT NULL DEFAULT 0,
    unique_carters    bigint      NOT NULL DEFAULT 0,
    unique_purchasers bigint      NOT NULL DEFAULT 0,
    revenue           numeric     NOT NULL DEFAULT 0,
    late_events       bigint      NOT NULL DEFAULT 0,   -- events that arrived after the window's watermark
    is_final          boolean     NOT NULL DEFAULT false,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT funnel_summary_pkey PRIMARY KEY (window_start),
    CONSTRAINT funnel_summary_window_check CHECK (window_end > window_start)
);

-- The latest behavioural features of each user, the input of the churn model. Counts are never unknown (0 when
-- nothing happened); averages, ratios and times may be NULL where they are undefined (no session, no purchase yet).
CREATE TABLE IF NOT EXISTS churn_features
(
    user_id                  text             NOT NULL,
    total_views              bigint           NOT NULL DEFAULT 0,
    total_add_to_carts       bigint           NOT NULL DEFAULT 0,
    total_purchases          bigint           NOT NULL DEFAULT 0,
    session_count            bigint           NOT NULL DEFAULT 0,
    avg_session_seconds      double precision NULL DEFAULT 0,
    avg_events_per_session   double precision NULL DEFAULT 0,
    first_event_time         timestamptz      NULL,
    last_event_time          timestamptz      NULL,
    seconds_since_last_event double precision NULL,
    total_spend              numeric          NOT NULL DEFAULT 0,
    avg_order_value          numeric          NULL DEFAULT 0,
    distinct_products        bigint           NOT NULL DEFAULT 0,
    distinct_categories      bigint           NOT NULL DEFAULT 0,
    cart_abandonments        bigint           NOT NULL DEFAULT 0,
    cart_to_purchase_ratio   double precision NULL DEFAULT 0,
    favourite_category       text             NULL,
    events_last_7d           bigint           NOT NULL DEFAULT 0,
    events_prev_7d           bigint           NOT NULL DEFAULT 0,
    activity_trend           double precision NULL DEFAULT 0,   -- change of activity, last 7 days against the 7 before
    recency_days             double precision NULL,
    frequency_per_day        double precision NULL DEFAULT 0,
    monetary                 numeric          NULL DEFAULT 0,
    as_of                    timestamptz      NOT NULL DEFAULT now(),   -- the time the features describe
    updated_at               timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT churn_features_pkey PRIMARY KEY (user_id)
);

-- Every score the model gave, kept as history: the newest row per user is the current prediction.
CREATE TABLE IF NOT EXISTS churn_predictions
(
    id                bigint GENERATED ALWAYS AS IDENTITY,
    user_id           text             NOT NULL,
    churn_probability double precision NOT NULL,
    churned           boolean          NOT NULL,
    model_version     text             NOT NULL,
    scored_at         timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT churn_predictions_pkey PRIMARY KEY (id),
    CONSTRAINT churn_predictions_probability_check CHECK (churn_probability >= 0 AND churn_probability <= 1)
);

CREATE INDEX IF NOT EXISTS churn_predictions_user_id_scored_at_idx ON churn_predictions (user_id, scored_at DESC);

-- Messages that could not be used, with the reason, so that nothing is lost silently. Kafka's coordinates plus the
-- payload's hash make a redelivered message a duplicate; a letter without coordinates (NULLs never conflict) is always kept.
CREATE TABLE IF NOT EXISTS dead_letters
(
    id              bigint GENERATED ALWAYS AS IDENTITY,
    topic           text        NOT NULL,
    kafka_partition integer     NULL,
    kafka_offset    bigint      NULL,
    payload         bytea       NOT NULL,
    reason          text        NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    -- Part of the identity: offsets restart when a topic is recreated (or the development broker restarts), and a
    -- new bad message at a reused offset must not be mistaken for a redelivery of the old one.
    payload_sha256  bytea       GENERATED ALWAYS AS (sha256(payload)) STORED,
    CONSTRAINT dead_letters_pkey PRIMARY KEY (id),
    CONSTRAINT dead_letters_message_key UNIQUE (topic, kafka_partition, kafka_offset, payload_sha256)
);

CREATE INDEX IF NOT EXISTS dead_letters_received_at_idx ON dead_letters (received_at);
