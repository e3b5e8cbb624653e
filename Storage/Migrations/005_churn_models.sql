-- Every churn model version a training produced: what it was trained on and how it scored. The files themselves
-- (model.zip and model.json) are in model_directory; a later training into the same directory replaces them, so the
-- rows are the history and only the newest row's files are certain to be on disk. Rows are written once, never updated.
CREATE TABLE IF NOT EXISTS churn_models
(
    version         text        NOT NULL,
    trained_at      timestamptz NOT NULL,
    cutoff          timestamptz NOT NULL,   -- features from events up to it
    horizon         interval    NOT NULL,   -- label: churned = no event in (cutoff, cutoff + horizon]
    training_users  integer     NOT NULL,
    test_users      integer     NOT NULL,
    metrics         jsonb       NOT NULL,   -- the model on the held-out users: auc, accuracy, precision, recall, f1, logLoss
    baseline        jsonb       NOT NULL,   -- the recency-only baseline on the same users
    truth_metrics   jsonb       NULL,       -- both against the simulator's hidden truth; NULL when trained without it
    model_directory text        NOT NULL,
    registered_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT churn_models_pkey PRIMARY KEY (version),
    CONSTRAINT churn_models_horizon_check CHECK (horizon > interval '0'),
    CONSTRAINT churn_models_users_check CHECK (training_users >= 0 AND test_users >= 0)
);

CREATE INDEX IF NOT EXISTS churn_models_trained_at_idx ON churn_models (trained_at DESC);
