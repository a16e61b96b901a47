-- stagesync's bookkeeping on a MySQL/MariaDB target. Idempotent; run by `stagesync setup`.
-- Statements are separated by a line holding only ';' so the code can run them one by one.
CREATE DATABASE IF NOT EXISTS stagesync
;
-- One row per stream: the last source transaction applied, written in the same target
-- transaction as its data, so a restart resumes exactly after it. lsn is the source
-- position as stagesync orders it (PostgreSQL LSN, or binlog file sequence << 32 | offset).
CREATE TABLE IF NOT EXISTS stagesync.applied_position (
  stream               VARCHAR(64) PRIMARY KEY,
  lsn                  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  commit_time          DATETIME(6),
  events_applied       BIGINT UNSIGNED NOT NULL DEFAULT 0,
  transactions_applied BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at           DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  live_lag_seconds     DOUBLE,
  live_state           VARCHAR(32),
  live_at              DATETIME(6),
  last_error           TEXT
) ENGINE=InnoDB
;
-- Source columns as they were at setup (see the PostgreSQL bookkeeping).
CREATE TABLE IF NOT EXISTS stagesync.source_columns (
  stream      VARCHAR(64) NOT NULL,
  table_name  VARCHAR(255) NOT NULL,
  column_name VARCHAR(255) NOT NULL,
  PRIMARY KEY (stream, table_name, column_name)
) ENGINE=InnoDB
;
-- With transport = "kafka": per consumer group, topic and partition, the next offset to read
-- and the source position of the last record applied (see the PostgreSQL bookkeeping).
CREATE TABLE IF NOT EXISTS stagesync.kafka_offsets (
  stream          VARCHAR(128) NOT NULL,
  topic           VARCHAR(249) NOT NULL,
  kafka_partition INT NOT NULL,
  next_offset     BIGINT NOT NULL,
  last_commit_lsn DECIMAL(20,0) NOT NULL DEFAULT 0,
  lsn             DECIMAL(20,0) NOT NULL DEFAULT 0,
  total_order     BIGINT NOT NULL DEFAULT 0,
  updated_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (stream, topic, kafka_partition)
) ENGINE=InnoDB
;
-- `stagesync copy`: the source snapshot and where the stream starts after it; `run` refuses
-- to start while finished_at is NULL (see the PostgreSQL bookkeeping).
CREATE TABLE IF NOT EXISTS stagesync.copy_state (
  stream      VARCHAR(64) PRIMARY KEY,
  snapshot    VARCHAR(255) NOT NULL,
  position    BIGINT UNSIGNED NOT NULL,
  holder_pid  BIGINT NOT NULL DEFAULT 0,
  started_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  finished_at DATETIME(6)
) ENGINE=InnoDB
;
-- The copy's plan and each range's completion, written with its rows.
CREATE TABLE IF NOT EXISTS stagesync.copy_ranges (
  stream       VARCHAR(64) NOT NULL,
  table_name   VARCHAR(255) NOT NULL,
  part         INT NOT NULL,
  parts        INT NOT NULL,
  lower_bound  TEXT NOT NULL,
  upper_bound  TEXT NOT NULL,
  rows_copied  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  bytes_copied BIGINT UNSIGNED NOT NULL DEFAULT 0,
  done_at      DATETIME(6),
  PRIMARY KEY (stream, table_name, part)
) ENGINE=InnoDB
;
-- `copy --rebuild-indexes`: what copy dropped before the data, re-created after it.
CREATE TABLE IF NOT EXISTS stagesync.copy_indexes (
  stream       VARCHAR(64) NOT NULL,
  seq          INT NOT NULL,
  table_schema VARCHAR(255) NOT NULL,
  table_name   VARCHAR(255) NOT NULL,
  index_name   VARCHAR(255) NOT NULL,
  kind         VARCHAR(64) NOT NULL,
  drop_sql     TEXT NOT NULL,
  create_sql   TEXT NOT NULL,
  rebuilt_at   DATETIME(6),
  PRIMARY KEY (stream, seq)
) ENGINE=InnoDB
