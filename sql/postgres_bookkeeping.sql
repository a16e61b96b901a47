-- stagesync's bookkeeping on a PostgreSQL target. Idempotent; run by `stagesync setup`.
CREATE SCHEMA IF NOT EXISTS stagesync;

-- One row per stream (the source slot): the last source transaction applied, written in the
-- same target transaction as its data, so a restart resumes exactly after it.
CREATE TABLE IF NOT EXISTS stagesync.applied_position (
  stream               text PRIMARY KEY,
  lsn                  pg_lsn NOT NULL DEFAULT '0/0',
  commit_time          timestamptz,
  events_applied       bigint NOT NULL DEFAULT 0,
  transactions_applied bigint NOT NULL DEFAULT 0,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  live_lag_seconds     double precision,
  live_state           text,
  live_at              timestamptz,
  -- Why the last run/apply stopped, when it stopped on an error (live_state = 'error').
  last_error           text
);
ALTER TABLE stagesync.applied_position ADD COLUMN IF NOT EXISTS last_error text;

-- Source columns as they were at setup: these may be absent on the target (dropped with a
-- warning); a column the source gains later must exist on the target.
CREATE TABLE IF NOT EXISTS stagesync.source_columns (
  stream      text NOT NULL,
  table_name  text NOT NULL,
  column_name text NOT NULL,
  PRIMARY KEY (stream, table_name, column_name)
);

-- With transport = "kafka": per consumer group, topic and partition, the next offset to read
-- and the source position of the last record applied (to skip records a capture restart
-- sent twice). Written in the same target transaction as the data.
CREATE TABLE IF NOT EXISTS stagesync.kafka_offsets (
  stream          text NOT NULL,
  topic           text NOT NULL,
  kafka_partition integer NOT NULL,
  next_offset     bigint NOT NULL,
  last_commit_lsn numeric NOT NULL DEFAULT 0,
  lsn             numeric NOT NULL DEFAULT 0,
  total_order     bigint NOT NULL DEFAULT 0,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream, topic, kafka_partition)
);

-- `stagesync copy`: the source snapshot the copy reads and the position the stream starts
-- from after it; `run` refuses to start while finished_at is NULL.
CREATE TABLE IF NOT EXISTS stagesync.copy_state (
  stream      text PRIMARY KEY,
  snapshot    text NOT NULL,
  position    numeric NOT NULL,
  holder_pid  bigint NOT NULL DEFAULT 0,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

-- The copy's plan: each source table's key ranges, and each range's completion, written in
-- the same target transaction as its rows (a resumed copy copies the others only).
CREATE TABLE IF NOT EXISTS stagesync.copy_ranges (
  stream       text NOT NULL,
  table_name   text NOT NULL,
  part         integer NOT NULL,
  parts        integer NOT NULL,
  lower_bound  text NOT NULL DEFAULT '',
  upper_bound  text NOT NULL DEFAULT '',
  rows_copied  bigint NOT NULL DEFAULT 0,
  bytes_copied bigint NOT NULL DEFAULT 0,
  done_at      timestamptz,
  PRIMARY KEY (stream, table_name, part)
);

-- `copy --rebuild-indexes`: the indexes and foreign keys copy dropped before the data, in the
-- order it re-creates them after it; a resumed copy re-creates those not yet rebuilt.
CREATE TABLE IF NOT EXISTS stagesync.copy_indexes (
  stream       text NOT NULL,
  seq          integer NOT NULL,
  table_schema text NOT NULL,
  table_name   text NOT NULL,
  index_name   text NOT NULL,
  kind         text NOT NULL,
  drop_sql     text NOT NULL,
  create_sql   text NOT NULL,
  rebuilt_at   timestamptz,
  PRIMARY KEY (stream, seq)
);
