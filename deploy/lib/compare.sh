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
