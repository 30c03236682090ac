#!/usr/bin/env bash
# Make sure the programs and services the test suite needs are here: PostgreSQL answering on
# 127.0.0.1:5432 with a database `test` (trust auth), Chromium for rendering report pages, and
# poppler's pdftoppm. Installs them from Debian's packages when missing (needs root), never skips.
set -euo pipefail

# With --pdf-only (what `make demo` runs) only Chromium and the Japanese fonts are installed, and
# only where that is possible (root, or sudo without a password); otherwise it says so and exits 0,
# and the demo writes its reports as HTML.
PDF_ONLY=0
if [ "${1:-}" = "--pdf-only" ]; then PDF_ONLY=1; fi

PGHOST=127.0.0.1
PGPORT=5432
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if [ "$PDF_ONLY" = 1 ]; then
  if command -v chromium >/dev/null 2>&1 && [ -d /usr/share/fonts/opentype/noto ]; then exit 0; fi
  if [ -n "$SUDO" ] && ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
    echo "ensure_system: Chromium is missing and cannot be installed here (no root or sudo);" \
         "the demo writes HTML reports" >&2
    exit 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_system: Chromium is missing and this is not a Debian/Ubuntu system;" \
         "the demo writes HTML reports" >&2
    exit 0
  fi
  command -v chromium >/dev/null 2>&1 || apt_install chromium || true
  [ -d /usr/share/fonts/opentype/noto ] || apt_install fonts-noto-cjk || true
  exit 0
fi

pg_answers() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$PGHOST" -p "$PGPORT"
  else
    (exec 3<>"/dev/tcp/$PGHOST/$PGPORT") 2>/dev/null
  fi
}

if ! pg_answers; then
  echo "ensure_system: PostgreSQL does not answer on $PGHOST:$PGPORT; installing/starting it" >&2
  command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  conf=/etc/postgresql/$ver/main
  if ! grep -q "regmed-ci" "$conf/pg_hba.conf"; then
    { echo "# regmed-ci: trust on loopback for the test suite";
      echo "host all all 127.0.0.1/32 trust";
      echo "host all all ::1/128 trust";
      cat "$conf/pg_hba.conf"; } > /tmp/pg_hba.conf.new
    $SUDO cp /tmp/pg_hba.conf.new "$conf/pg_hba.conf"
  fi
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
  for _ in $(seq 1 30); do pg_answers && break; sleep 1; done
fi
if ! psql -h "$PGHOST" -p "$PGPORT" -U postgres -d test -Atc "select 1" >/dev/null 2>&1; then
  psql -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -Atc "create database test" >/dev/null
fi

command -v chromium >/dev/null 2>&1 || apt_install chromium
command -v pdftoppm >/dev/null 2>&1 || apt_install poppler-utils
# Japanese glyphs for the ja report (Droid Sans Fallback alone gives Chinese shapes)
[ -d /usr/share/fonts/opentype/noto ] || apt_install fonts-noto-cjk
echo "ensure_system: PostgreSQL on $PGHOST:$PGPORT, $(chromium --version 2>/dev/null | head -n 1), pdftoppm ready"
