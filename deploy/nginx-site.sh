#!/usr/bin/env bash
# Print the nginx site for this server: deploy/nginx-chibo.conf with its name and certificate folder filled in.
#   nginx-site.sh DOMAIN CERT_DIR                  one Streamlit process on 127.0.0.1:8501 (SQLite layout)
#   nginx-site.sh DOMAIN CERT_DIR 8501 8502 …      several (PostgreSQL layout): the site's upstream block is replaced
#                                                  by deploy/nginx-chibo-pg.conf's (sticky by a cookie) with one
#                                                  server line per argument (a port on this machine, or HOST:PORT),
#                                                  and the cookie's Set-Cookie header is added beside the others.
# deploy/install.sh writes its output to /etc/nginx/sites-available/chibo; tests/e2e/test_two_servers.py serves it.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 DOMAIN CERT_DIR [PORT|HOST:PORT ...]" >&2; exit 2; }
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
domain=$1 cert_dir=$2
shift 2

site() {
    sed -e "s#/etc/letsencrypt/live/chibo.example.vn#$cert_dir#g" -e "s#chibo.example.vn#$domain#g" \
        "$DIR/nginx-chibo.conf"
}
[ $# -gt 0 ] || { site; exit 0; }

servers=""
for upstream in "$@"; do
    [[ "$upstream" =~ ^[0-9]+$ ]] && upstream="127.0.0.1:$upstream"
    [[ "$upstream" =~ ^[A-Za-z0-9.:_-]+:[0-9]+$ ]] || { echo "$0: not a port or HOST:PORT: $upstream" >&2; exit 2; }
    servers+="    server $upstream max_fails=3 fail_timeout=10s;"$'\n'
done
# The map and upstream of nginx-chibo-pg.conf without its comments; its example server lines become ours.
block="$(grep -v '^\s*#' "$DIR/nginx-chibo-pg.conf" | awk -v servers="$servers" '
    /^[ \t]*server / { if (!done) printf "%s", servers; done = 1; next }
    { print }')"
# The header line is written once, in nginx-chibo-pg.conf's comment that tells how to add it by hand.
cookie="$(sed -n 's/^#[ \t]*\(add_header Set-Cookie .*\)$/\1/p' "$DIR/nginx-chibo-pg.conf")"
[ -n "$cookie" ] || { echo "$0: no Set-Cookie line in nginx-chibo-pg.conf" >&2; exit 1; }
site | awk -v block="$block" -v cookie="$cookie" '
    /^upstream chibo_streamlit \{/ { print "# Several app processes (deploy/nginx-chibo-pg.conf)"; print block; skip = 1; next }
    skip && /^\}/ { skip = 0; next }
    skip { next }
    { print }
    /^[ \t]*add_header Permissions-Policy / { match($0, /^[ \t]*/); printf "%s%s\n", substr($0, 1, RLENGTH), cookie }'
