-- Orleans ADO.NET providers on PostgreSQL: clustering (membership), grain persistence and reminders, written for the
-- Orleans 10.4.2 packages Microsoft.Orleans.Clustering.AdoNet, .Persistence.AdoNet and .Reminders.AdoNet used with
-- Invariant "Npgsql".
--
-- The providers carry no SQL of their own. At start-up each reads its statements from OrleansQuery by key and refuses
-- to start if a key it needs is missing. The contract this file keeps, learnt from the providers' code:
--   * the query keys;
--   * the parameter names (@DeploymentId, ...), which Npgsql binds by name; parameters arrive typed (text, integer,
--     bigint, bytea, and timestamptz for every DateTime, always in UTC);
--   * the names of result columns, which the providers read by name (ignoring case);
--   * yes/no answers as one integer column, > 0 meaning "done";
--   * versions (etags) as integers.
-- Table names and layouts are ours; we keep the customary names so that Orleans' documentation still applies.
-- Unquoted identifiers fold to lower case in PostgreSQL: OrleansQuery is the table orleansquery.
--
-- Every statement can run again without harm (IF NOT EXISTS, OR REPLACE, ON CONFLICT DO UPDATE), although the
-- migration runner applies this file only once.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,
    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
);

-------------------------------------------------------------------------------------------------------------------------
-- Clustering: the membership table.
-------------------------------------------------------------------------------------------------------------------------

-- One row per cluster (DeploymentId is the ClusterId). Version is the optimistic-concurrency token of the cluster's
-- whole membership: a silo may add or change a row only if the version it read is still current, and the change bumps
-- it. Heartbeats (IAmAliveTime) deliberately do not.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0,
    CONSTRAINT PK_OrleansMembershipVersionTable_DeploymentId PRIMARY KEY (DeploymentId)
);

-- One row per silo incarnation; Generation tells apart restarts on the same address and port.
-- StartTime and IAmAliveTime keep milliseconds and every write truncates to them (date_trunc): timestamptz(3) alone
-- would round, and a time rounded up lies after the value the silo holds in memory. Orleans removes a dead silo's
-- row only when its stored times are before a cut-off it computes from its in-memory view (the latest time + 1 tick),
-- so a rounded-up time postpones the clean-up until the next full read of the table.
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL,
    Address      varchar(45)    NOT NULL,  -- IPv4 or IPv6 in text form
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     text           NOT NULL,
    HostName     text           NOT NULL,
    Status       integer        NOT NULL,  -- Orleans.Runtime.SiloStatus: 3 = Active, 6 = Dead
    ProxyPort    integer        NULL,      -- gateway port for clients; 0 when the silo is no gateway
    SuspectTimes text           NULL,      -- "silo,time|silo,time": who suspected this silo, and when
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,
    CONSTRAINT PK_MembershipTable_DeploymentId PRIMARY KEY (DeploymentId, Address, Port, Generation),
    -- Removing a cluster's version row removes its silos: DeleteMembershipTableEntriesKey is then one statement.
    CONSTRAINT FK_MembershipTable_MembershipVersionTable_DeploymentId FOREIGN KEY (DeploymentId)
        REFERENCES OrleansMembershipVersionTable (DeploymentId) ON DELETE CASCADE
);

-- Adds a silo's row and bumps the cluster's version: both or neither. Returns 1 when done, 0 when the caller's view of
-- the table is stale or the row exists (Orleans then reads the table again and retries).
CREATE OR REPLACE FUNCTION orleans_membership_insert(
    p_deployment_id    text,
    p_address          text,
    p_port             integer,
    p_generation       integer,
    p_silo_name        text,
    p_host_name        text,
    p_status           integer,
    p_proxy_port       integer,
    p_start_time       timestamptz,
    p_i_am_alive_time  timestamptz,
    p_expected_version integer)
RETURNS integer
LANGUAGE plpgsql
AS $function$
BEGIN
    -- Locking the version row first serialises every membership writer of the cluster, so nothing can change between
    -- this check and the version bump below. A concurrent writer that got there first has changed Version, and the
    -- re-check PostgreSQL makes after waiting for the lock then finds no row.
    PERFORM 1
    FROM OrleansMembershipVersionTable
    WHERE DeploymentId = p_deployment_id AND Version = p_expected_version
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
    VALUES
        (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status, p_proxy_port,
         date_trunc('milliseconds', p_start_time), date_trunc('milliseconds', p_i_am_alive_time))
    ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = p_deployment_id;
    RETURN 1;
END
$function$;

-- Changes a silo's status and suspicions and bumps the cluster's version: both or neither, as above.
CREATE OR REPLACE FUNCTION orleans_membership_update(
    p_deployment_id    text,
    p_address          text,
    p_port             integer,
    p_generation       integer,
    p_status           integer,
    p_suspect_times    text,
    p_i_am_alive_time  timestamptz,
    p_expected_version integer)
RETURNS integer
LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM 1
    FROM OrleansMembershipVersionTable
    WHERE DeploymentId = p_deployment_id AND Version = p_expected_version
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    UPDATE OrleansMembershipTable
    SET Status = p_status, SuspectTimes = p_suspect_times, IAmAliveTime = date_trunc('milliseconds', p_i_am_alive_time)
    WHERE DeploymentId = p_deployment_id AND Address = p_address AND Port = p_port AND Generation = p_generation;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = p_deployment_id;
    RETURN 1;
END
$function$;

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
(
    'InsertMembershipVersionKey', $query$
    WITH inserted AS (
        INSERT INTO OrleansMembershipVersionTable (DeploymentId)
        VALUES (@DeploymentId)
        ON CONFLICT (DeploymentId) DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::integer FROM inserted
$query$),
(
    'InsertMembershipKey', $query$
    SELECT orleans_membership_insert(
        @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort,
        @StartTime, @IAmAliveTime, @Version)
$query$),
(
    'UpdateMembershipKey', $query$
    SELECT orleans_membership_update(
        @DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime, @Version)
$query$),
(
    'UpdateIAmAlivetimeKey', $query$
    UPDATE OrleansMembershipTable
    SET IAmAliveTime = date_trunc('milliseconds', @IAmAliveTime)
    WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation
$query$),
(
    -- The version row comes back even when the silo has no row yet (the LEFT JOIN), because Orleans needs the version.
    'MembershipReadRowKey', $query$
    SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
           m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
    FROM OrleansMembershipVersionTable v
    LEFT JOIN OrleansMembershipTable m
           ON m.DeploymentId = v.DeploymentId
          AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
    WHERE v.DeploymentId = @DeploymentId
$query$),
(
    'MembershipReadAllKey', $query$
    SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
           m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
    FROM OrleansMembershipVersionTable v
    LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
    WHERE v.DeploymentId = @DeploymentId
$query$),
(
    'DeleteMembershipTableEntriesKey', $query$
    DELETE FROM OrleansMembershipVersionTable
    WHERE DeploymentId = @DeploymentId
$query$),
(
    -- Clients find gateways here: active silos that accept client connections.
    'GatewaysQueryKey', $query$
    SELECT Address, ProxyPort, Generation
    FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0
$query$),
(
    -- Bulk clean-up of long-dead silos (@IAmAliveTime is the cut-off). Orleans 10.4.2 uses it only when
    -- CleanupDefunctSiloEntryKey is absent; it is required at start-up all the same.
    'CleanupDefunctSiloEntriesKey', $query$
    DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Status = 6
      AND IAmAliveTime < @IAmAliveTime
      AND StartTime < @IAmAliveTime
$query$),
(
    -- Per-row clean-up (optional key, preferred by Orleans 10.4.2 when present). Orleans picks the dead rows to remove
    -- from a read of the table and passes back what it saw; the row goes only if it is still exactly that, so a silo
    -- row that changed in the meantime is never removed on stale information. The version is not bumped: removing a
    -- dead silo changes nobody's view of the live cluster.
    'CleanupDefunctSiloEntryKey', $query$
    DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Address = @Address AND Port = @Port AND Generation = @Generation
      AND Status = 6
      AND StartTime = @StartTime
      AND IAmAliveTime = @IAmAliveTime
      AND COALESCE(SuspectTimes, '') = COALESCE(@SuspectTimes, '')
$query$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-------------------------------------------------------------------------------------------------------------------------
-- Grain persistence.
-------------------------------------------------------------------------------------------------------------------------

-- One row per grain state. A grain is identified by its type, its id (N0/N1 for integer and GUID keys, the extension
-- or string key in GrainIdExtensionString) and the service; the two hashes make lookups cheap.
CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer     NOT NULL,
    GrainIdN0              bigint      NOT NULL,
    GrainIdN1              bigint      NOT NULL,
    GrainTypeHash          integer     NOT NULL,
    GrainTypeString        text        NOT NULL,
    GrainIdExtensionString text        NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea       NULL,     -- NULL after a clear that keeps the row
    ModifiedOn             timestamptz NOT NULL,
    Version                integer     NULL      -- the etag
);

-- Unique, unlike the index of Orleans' reference script: with only "INSERT ... WHERE NOT EXISTS" two concurrent first
-- writes of one grain can both insert under READ COMMITTED and leave two rows. COALESCE makes a missing extension
-- count as one value (a unique index treats NULLs as all different); Orleans never uses an empty extension.
CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_Grain
    ON OrleansStorage (GrainIdHash, GrainTypeHash, ServiceId, GrainIdN0, GrainIdN1, GrainTypeString,
                       (COALESCE(GrainIdExtensionString, '')));

-- Writes a grain's state if the caller's version is current. Returns the new version, or the caller's own version
-- (NULL for a first write) when it lost a race, which Orleans reports as an InconsistentStateException.
CREATE OR REPLACE FUNCTION orleans_storage_write(
    p_grain_id_hash       integer,
    p_grain_id_n0         bigint,
    p_grain_id_n1         bigint,
    p_grain_type_hash     integer,
    p_grain_type          text,
    p_grain_id_extension  text,
    p_service_id          text,
    p_expected_version    integer,
    p_payload             bytea)
RETURNS integer
LANGUAGE plpgsql
AS $function$
DECLARE
    v_new_version integer;
BEGIN
    IF p_expected_version IS NULL THEN
        -- No version: the state was never written, or was deleted. Exactly one concurrent first write may create it.
        INSERT INTO OrleansStorage
            (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId,
             PayloadBinary, ModifiedOn, Version)
        VALUES
            (p_grain_id_hash, p_grain_id_n0, p_grain_id_n1, p_grain_type_hash, p_grain_type, p_grain_id_extension,
             p_service_id, p_payload, now(), 1)
        ON CONFLICT DO NOTHING
        RETURNING Version INTO v_new_version;
    ELSE
        UPDATE OrleansStorage
        SET PayloadBinary = p_payload, ModifiedOn = now(), Version = Version + 1
        WHERE GrainIdHash = p_grain_id_hash AND GrainTypeHash = p_grain_type_hash AND ServiceId = p_service_id
          AND GrainIdN0 = p_grain_id_n0 AND GrainIdN1 = p_grain_id_n1 AND GrainTypeString = p_grain_type
          AND COALESCE(GrainIdExtensionString, '') = COALESCE(p_grain_id_extension, '')
          AND Version = p_expected_version
        RETURNING Version INTO v_new_version;
    END IF;

    RETURN COALESCE(v_new_version, p_expected_version);
END
$function$;

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
(
    'WriteToStorageKey', $query$
    SELECT orleans_storage_write(
        @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString,
        @ServiceId, @GrainStateVersion, @PayloadBinary) AS NewGrainStateVersion
$query$),
(
    'ReadFromStorageKey', $query$
    SELECT PayloadBinary, Version
    FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash AND ServiceId = @ServiceId
      AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
      AND COALESCE(GrainIdExtensionString, '') = COALESCE(@GrainIdExtensionString, '')
$query$),
(
    -- ClearStateAsync when DeleteStateOnClear is off: the row stays, without payload, and its version moves on.
    'ClearStorageKey', $query$
    UPDATE OrleansStorage
    SET PayloadBinary = NULL, ModifiedOn = now(), Version = Version + 1
    WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash AND ServiceId = @ServiceId
      AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
      AND COALESCE(GrainIdExtensionString, '') = COALESCE(@GrainIdExtensionString, '')
      AND Version = @GrainStateVersion
    RETURNING Version AS NewGrainStateVersion
$query$),
(
    -- ClearStateAsync when DeleteStateOnClear is on. Orleans checks that the answer differs from the etag it sent.
    'DeleteStorageKey', $query$
    DELETE FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash AND ServiceId = @ServiceId
      AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
      AND COALESCE(GrainIdExtensionString, '') = COALESCE(@GrainIdExtensionString, '')
      AND Version = @GrainStateVersion
    RETURNING Version + 1 AS NewGrainStateVersion
$query$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-------------------------------------------------------------------------------------------------------------------------
-- Reminders.
-------------------------------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    varchar(150)   NOT NULL,
    GrainId      text           NOT NULL,
    ReminderName text           NOT NULL,
    StartTime    timestamptz(3) NOT NULL,
    Period       bigint         NOT NULL,  -- milliseconds
    GrainHash    integer        NOT NULL,  -- the grain's uniform hash (a uint stored as int): its place on the ring
    Version      integer        NOT NULL,  -- the etag
    CONSTRAINT PK_RemindersTable_ServiceId_GrainId_ReminderName PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

-- Each silo loads the reminders of its own ring range (ReadRangeRows1Key/2Key) whenever the cluster changes.
CREATE INDEX IF NOT EXISTS IX_RemindersTable_ServiceId_GrainHash ON OrleansRemindersTable (ServiceId, GrainHash);

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
(
    'UpsertReminderRowKey', $query$
    INSERT INTO OrleansRemindersTable AS r (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
    VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
    ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
    SET StartTime = EXCLUDED.StartTime, Period = EXCLUDED.Period, GrainHash = EXCLUDED.GrainHash,
        Version = r.Version + 1
    RETURNING r.Version AS Version
$query$),
(
    'ReadReminderRowsKey', $query$
    SELECT GrainId, ReminderName, StartTime, Period, Version
    FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId AND GrainId = @GrainId
$query$),
(
    'ReadReminderRowKey', $query$
    SELECT GrainId, ReminderName, StartTime, Period, Version
    FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName
$query$),
(
    -- A range that does not wrap around the ring (begin < end as signed integers).
    'ReadRangeRows1Key', $query$
    SELECT GrainId, ReminderName, StartTime, Period, Version
    FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId AND GrainHash > @BeginHash AND GrainHash <= @EndHash
$query$),
(
    -- A range that wraps around the end of the ring.
    'ReadRangeRows2Key', $query$
    SELECT GrainId, ReminderName, StartTime, Period, Version
    FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId AND (GrainHash > @BeginHash OR GrainHash <= @EndHash)
$query$),
(
    'DeleteReminderRowKey', $query$
    WITH deleted AS (
        DELETE FROM OrleansRemindersTable
        WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName AND Version = @Version
        RETURNING 1
    )
    SELECT count(*)::integer FROM deleted
$query$),
(
    'DeleteReminderRowsKey', $query$
    DELETE FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId
$query$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
