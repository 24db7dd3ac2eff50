#!/usr/bin/env bash
# Check the deployment files without installing them: `systemd-analyze verify` on the units of both layouts
# (chibo@.service as chibo@8501) and `nginx -t` on the site of each (deploy/nginx-site.sh), in a temporary folder, with paths pointed at this checkout and a throw-away
# self-signed certificate. Needs systemd (systemd-analyze), nginx and openssl; run after `make venv`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
[ -x "$ROOT/.venv/bin/streamlit" ] || { echo "check.sh: no $ROOT/.venv; run make venv first" >&2; exit 1; }

echo "== systemd-analyze verify"
for unit in chibo.service chibo-backup.service chibo-backup.timer chibo@.service chibo-pgdump.service \
    chibo-pgdump.timer; do
    sed "s#/opt/chibo#$ROOT#g" "$ROOT/deploy/$unit" >"$TMP/${unit/@./@8501.}"
done
# verify only warns (exit 0) about a setting it cannot parse and ignores, so any output is a failure.
out="$(cd "$TMP" && systemd-analyze verify --man=no "$TMP/chibo.service" "$TMP/chibo-backup.service" \
    "$TMP/chibo-backup.timer" "$TMP/chibo@8501.service" "$TMP/chibo-pgdump.service" "$TMP/chibo-pgdump.timer" \
    2>&1)" || { echo "$out" >&2; exit 1; }
[ -z "$out" ] || { echo "$out" >&2; exit 1; }
echo "units ok"

echo "== nginx -t"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=chibo.example.vn" \
    -keyout "$TMP/privkey.pem" -out "$TMP/fullchain.pem" 2>/dev/null
mkdir -p "$TMP/logs"
for layout in sqlite postgresql; do
ports=""
[ "$layout" = sqlite ] || ports="8501 8502"
# shellcheck disable=SC2086
"$ROOT/deploy/nginx-site.sh" chibo.example.vn "$TMP" $ports | sed -e "s#/var/log/nginx#$TMP/logs#g" >"$TMP/site.conf"
cat >"$TMP/nginx.conf" <<EOF
pid $TMP/nginx.pid;
error_log $TMP/logs/error.log;
events {}
http {
    access_log $TMP/logs/access.log;
    client_body_temp_path $TMP/body;
    proxy_temp_path $TMP/proxy;
    fastcgi_temp_path $TMP/fastcgi;
    uwsgi_temp_path $TMP/uwsgi;
    scgi_temp_path $TMP/scgi;
    include $TMP/site.conf;
}
EOF
nginx -t -q -e "$TMP/logs/error.log" -p "$TMP" -c "$TMP/nginx.conf"
echo "nginx site ok ($layout layout)"
done
