# shellcheck shell=bash
# compare_pg SRC_CONNINFO DST_CONNINFO [SCHEMA]
#
# Compares every base table of SCHEMA (default public) on the source with the table of the same
# name on the target, on the columns both have (matched by name): row count and the md5 of all
# rows (as text) in primary-key order (all common columns for tables without a key). Prints one
# line per table with OK or DIFF and returns 1 if any table differs or is missing on the target.
# Columns only one side has (e.g. UM_DOMAIN_ID added by WSO2's 4.2.0 migration) are left out.

_cmp_psql() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

compare_pg() {
  local src=$1 dst=$2 schema=${3:-public}
  local t diffs=0 ntables=0 src_cols dst_cols keys cols c q s_out d_out s_n d_n state
  printf '%-28s %10s %10s  %s\n' "table" "source" "target" "result"
  while read -r t; do
    [[ -n "$t" ]] || continue
    ntables=$((ntables + 1))
    src_cols=$(_cmp_psql "$src" -c "SELECT column_name FROM information_schema.columns
        WHERE table_schema = '$schema' AND table_name = '$t' ORDER BY ordinal_position")
    dst_cols=$(_cmp_psql "$dst" -c "SELECT column_name FROM information_schema.columns
        WHERE table_schema = '$schema' AND table_name = '$t'")
    if [[ -z "$dst_cols" ]]; then
      printf '%-28s %10s %10s  %s\n' "$t" "-" "-" "DIFF (no table on target)"
      diffs=$((diffs + 1))
      continue
    fi
    cols=()
    for c in $src_cols; do
      if grep -qxF "$c" <<<"$dst_cols"; then cols+=("\"$c\""); fi
    done
    keys=$(_cmp_psql "$src" -c "SELECT string_agg(format('%I::text COLLATE \"C\"', a.attname), ', '
                                         ORDER BY array_position(i.indkey::int2[], a.attnum))
        FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = '$schema.\"$t\"'::regclass AND i.indisprimary")
    local collist
    collist=$(IFS=,; echo "${cols[*]}")
    if [[ -z "$keys" ]]; then keys="ROW($collist)::text COLLATE \"C\""; fi
    q="SELECT count(*) || ' ' || md5(coalesce(string_agg(ROW($collist)::text, E'\\n' ORDER BY $keys), ''))
       FROM $schema.\"$t\""
    s_out=$(_cmp_psql "$src" -c "$q")
    d_out=$(_cmp_psql "$dst" -c "$q")
    s_n=${s_out%% *}
    d_n=${d_out%% *}
    if [[ "$s_out" == "$d_out" ]]; then
      state=OK
    else
      state="DIFF"
      [[ "$s_n" == "$d_n" ]] && state="DIFF (content)"
      diffs=$((diffs + 1))
    fi
    printf '%-28s %10s %10s  %s\n' "$t" "$s_n" "$d_n" "$state"
  done < <(_cmp_psql "$src" -c "SELECT table_name FROM information_schema.tables
        WHERE table_schema = '$schema' AND table_type = 'BASE TABLE' ORDER BY 1")
  if ((diffs > 0)); then
    echo "compare: $diffs of $ntables tables differ"
    return 1
  fi
  echo "compare: all $ntables tables equal (on the columns both sides have)"
}

# compare_mysql SRC_DSN DST_DSN [ABSENT_TABLE...]
#
# The same for MySQL/MariaDB, with stagesync's dsns (mysql://user[:password]@host:port/db):
# every base table of the source database against the table of the same name in the target
# database, on the columns both have (names matched case-insensitively): row count and the md5
# of all rows in primary-key order (the whole row for tables without a primary key). A row is
# its columns joined by tabs (CONCAT_WS), NULL written as \N, binary and blob columns as HEX();
# rows are joined by newlines with GROUP_CONCAT (group_concat_max_len raised to 1 GiB).
# Timestamps are read in UTC on both sides. ABSENT_TABLEs are tables the target is expected
# not to have (e.g. UM_CLAIM_BEHAVIOR, dropped by WSO2's MySQL 4.2.0 migration): they are
# listed as such and not counted as differences. Returns 1 if any other table differs or is
# missing on the target.

# _cmp_mysql DSN [mariadb args...]: the mariadb client on the dsn's server and database.
_cmp_mysql() {
  local dsn=$1 rest auth hostport db user password="" host port=3306
  shift
  rest=${dsn#mysql://}
  db=${rest#*/}
  [[ "$db" != "$rest" ]] || db=""
  rest=${rest%%/*}
  auth=root
  if [[ "$rest" == *@* ]]; then auth=${rest%@*}; fi
  hostport=${rest##*@}
  user=${auth%%:*}
  if [[ "$auth" == *:* ]]; then password=${auth#*:}; fi
  host=${hostport%:*}
  if [[ "$hostport" == *:* ]]; then port=${hostport##*:}; fi
  MYSQL_PWD=$password mariadb --no-defaults --default-character-set=utf8mb4 -h "$host" -P "$port" \
    -u "$user" ${db:+"--database=$db"} -N -B "$@"
}

compare_mysql() {
  local src=$1 dst=$2
  shift 2
  local absent=" ${*^^} "
  local t diffs=0 ntables=0 src_cols dst_cols keys c type q s_out d_out s_n d_n state row
  local -a exprs order
  local setup="SET SESSION group_concat_max_len = 1073741824; SET time_zone = '+00:00';"
  printf '%-28s %10s %10s  %s\n' "table" "source" "target" "result"
  while read -r t; do
    [[ -n "$t" ]] || continue
    ntables=$((ntables + 1))
    src_cols=$(_cmp_mysql "$src" -e "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '$t' ORDER BY ORDINAL_POSITION")
    dst_cols=$(_cmp_mysql "$dst" -e "SELECT COLUMN_NAME FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '$t'")
    if [[ -z "$dst_cols" ]]; then
      if [[ "$absent" == *" ${t^^} "* ]]; then
        printf '%-28s %10s %10s  %s\n' "$t" "$(_cmp_mysql "$src" -e "SELECT COUNT(*) FROM \`$t\`")" "-" \
          "not on target (expected: dropped by the migration)"
      else
        printf '%-28s %10s %10s  %s\n' "$t" "-" "-" "DIFF (no table on target)"
        diffs=$((diffs + 1))
      fi
      continue
    fi
    exprs=()
    while IFS=$'\t' read -r c type; do
      grep -qixF "$c" <<<"$dst_cols" || continue
      case $type in
        binary | varbinary | tinyblob | blob | mediumblob | longblob) exprs+=("COALESCE(HEX(\`$c\`), '\\\\N')") ;;
        *) exprs+=("COALESCE(\`$c\`, '\\\\N')") ;;
      esac
    done <<<"$src_cols"
    order=()
    while IFS=$'\t' read -r c type; do
      [[ -n "$c" ]] || continue
      case $type in
        tinyint | smallint | mediumint | int | bigint | decimal | float | double | date | datetime | timestamp | time | year)
          order+=("\`$c\`") ;;
        *) order+=("CAST(\`$c\` AS BINARY)") ;;
      esac
    done < <(_cmp_mysql "$src" -e "SELECT s.COLUMN_NAME, c.DATA_TYPE FROM information_schema.STATISTICS s
        JOIN information_schema.COLUMNS c USING (TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME)
        WHERE s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME = '$t' AND s.INDEX_NAME = 'PRIMARY'
        ORDER BY s.SEQ_IN_INDEX")
    row="CONCAT_WS('\\t', $(IFS=,; echo "${exprs[*]}"))"
    keys=$(IFS=,; echo "${order[*]}")
    if [[ -z "$keys" ]]; then keys="CAST($row AS BINARY)"; fi
    q="$setup SELECT CONCAT(COUNT(*), ' ', MD5(COALESCE(GROUP_CONCAT($row ORDER BY $keys SEPARATOR '\\n'), '')))
       FROM \`$t\`"
    s_out=$(_cmp_mysql "$src" -e "$q")
    d_out=$(_cmp_mysql "$dst" -e "$q")
    s_n=${s_out%% *}
    d_n=${d_out%% *}
    if [[ "$s_out" == "$d_out" ]]; then
      state=OK
    else
      state="DIFF"
      [[ "$s_n" == "$d_n" ]] && state="DIFF (content)"
      diffs=$((diffs + 1))
    fi
    printf '%-28s %10s %10s  %s\n' "$t" "$s_n" "$d_n" "$state"
  done < <(_cmp_mysql "$src" -e "SELECT TABLE_NAME FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1")
  if ((diffs > 0)); then
    echo "compare: $diffs of $ntables tables differ"
    return 1
  fi
  echo "compare: all $ntables tables equal (on the columns both sides have)"
}
