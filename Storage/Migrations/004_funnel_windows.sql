-- The funnel windows' own columns and their breakdown. A window's row is rewritten (counts only ever grow) while it
-- is open and frozen once is_final; only late_events still grows after that.
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS users           bigint           NOT NULL DEFAULT 0;  -- distinct users with an event
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS cart_rate       double precision NULL;   -- add_to_carts / views
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS purchase_rate   double precision NULL;   -- purchases / add_to_carts
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS conversion_rate double precision NULL;   -- purchases / views
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS finalised_at    timestamptz      NULL;   -- when it became final (processing time)

-- The ordered funnel of the sessions whose first view is in the window (see the README): sessions, those that added
-- to the cart after their first view, those that bought after that; median and 90th percentile (nearest rank) of the
-- time from first view to cart and to purchase. Final once the watermark passes window_end + the session timeout.
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS sessions                        bigint           NOT NULL DEFAULT 0;
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS sessions_carted                 bigint           NOT NULL DEFAULT 0;
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS sessions_purchased              bigint           NOT NULL DEFAULT 0;
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS view_to_cart_median_seconds     double precision NULL;
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS view_to_cart_p90_seconds        double precision NULL;
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS view_to_purchase_median_seconds double precision NULL;
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS view_to_purchase_p90_seconds    double precision NULL;
ALTER TABLE funnel_summary ADD COLUMN IF NOT EXISTS ordered_final                   boolean          NOT NULL DEFAULT false;

-- The same funnel per category and per device (dimension 'category' or 'device'; events without a device: 'unknown').
CREATE TABLE IF NOT EXISTS funnel_breakdown
(
    window_start      timestamptz NOT NULL,
    dimension         text        NOT NULL,
    value             text        NOT NULL,
    views             bigint      NOT NULL DEFAULT 0,
    add_to_carts      bigint      NOT NULL DEFAULT 0,
    purchases         bigint      NOT NULL DEFAULT 0,
    unique_viewers    bigint      NOT NULL DEFAULT 0,
    unique_carters    bigint      NOT NULL DEFAULT 0,
    unique_purchasers bigint      NOT NULL DEFAULT 0,
    revenue           numeric     NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT funnel_breakdown_pkey PRIMARY KEY (window_start, dimension, value),
    CONSTRAINT funnel_breakdown_dimension_check CHECK (dimension IN ('category', 'device'))
);
