#!/usr/bin/env bash
# From a fresh Debian 12 server to the dashboard running behind nginx with TLS, in one run.
# Run as root from the project's checkout (normally /opt/chibo); safe to run again to upgrade.
#
#   DOMAIN=chibo.example.vn EMAIL=it@example.vn /opt/chibo/deploy/install.sh
#
# DOMAIN      the server's name (required); nginx answers to it and certbot certifies it
# EMAIL       the address Let's Encrypt writes to about the certificate (required with TLS=certbot)
# TLS         certbot (default) or selfsigned (an office network without a public name)
# ADMIN_USER  the first administrator's user name (default quantri); the password is asked for,
#             or read from standard input when that is not a terminal; skipped if users exist
# ADMIN_NAME  the first administrator's full name
#
# The PostgreSQL layout (docs/DEPLOY.md, "Several app servers on PostgreSQL"), instead of one process on SQLite:
# LAYOUT      sqlite (default) or postgresql
# PORTS       postgresql layout: the Streamlit processes on this machine, one chibo@PORT each (default "8501 8502")
# PG_URL      postgresql layout: the database's address (default postgresql://chibo@/chibo?host=/run/postgresql,
#             a PostgreSQL server installed here, its database chibo made with the C collation, owned by the
#             role chibo that the service user reaches over the local socket). Given, nothing is installed for it.
# UPSTREAMS   postgresql layout: the nginx upstream's servers when processes also run on other machines
#             (default: PORTS on 127.0.0.1), e.g. "8501 8502 10.0.0.12:8501 10.0.0.12:8502"
set -euo pipefail

APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOMAIN="${DOMAIN:-}"
EMAIL="${EMAIL:-}"
TLS="${TLS:-certbot}"
ADMIN_USER="${ADMIN_USER:-quantri}"
ADMIN_NAME="${ADMIN_NAME:-Quản trị viên}"
SERVICE_USER=chibo
DATA_DIR=/var/lib/chibo
BACKUP_DIR=/var/backups/chibo
DB="$DATA_DIR/app.db"
LAYOUT="${LAYOUT:-sqlite}"
LOCAL_PG=postgresql://chibo@/chibo?host=/run/postgresql
case "$LAYOUT" in
    sqlite) PORTS="" ;;
    postgresql)
        PORTS="${PORTS:-8501 8502}"
        PG_URL="${PG_URL:-$LOCAL_PG}"
        SQLITE_DB="$DB"  # copied into PostgreSQL once, when the database there is still empty
        DB="$PG_URL"
        ;;
    *) echo "install.sh: LAYOUT must be sqlite or postgresql." >&2; exit 1 ;;
esac

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
systemd_running() { [ -d /run/systemd/system ]; }
as_service() { (cd "$APP_DIR" && runuser -u "$SERVICE_USER" -- env CHIBO_DB="$DB" HOME="$DATA_DIR" "$@"); }

[ "$(id -u)" = 0 ] || die "run as root (sudo)."
[ -n "$DOMAIN" ] || die "set DOMAIN to the server's name, e.g. DOMAIN=chibo.example.vn"
case "$TLS" in
    certbot) [ -n "$EMAIL" ] || die "set EMAIL for Let's Encrypt (or TLS=selfsigned)." ;;
    selfsigned) ;;
    *) die "TLS must be certbot or selfsigned." ;;
esac
if [ ! -f "$APP_DIR/requirements.txt" ] || [ ! -f "$APP_DIR/app.py" ]; then
    die "run this script from the project's checkout."
fi

step "1/7 Debian packages"
apt-get update -qq
packages=(python3 python3-venv nginx sqlite3 openssl ca-certificates curl age)
[ "$TLS" = certbot ] && packages+=(certbot)
if [ "$LAYOUT" = postgresql ]; then
    # pg_dump and pg_restore for the nightly dump; the server itself only when the database lives here
    packages+=(postgresql-client)
    [ "$PG_URL" = "$LOCAL_PG" ] && packages+=(postgresql)
fi
# The report as PDF: LibreOffice headless, Liberation Serif 2 for Times New Roman with Vietnamese, FreeSerif for
# the charts; poppler-utils for `python -m lib report-pages` (page images of a report).
packages+=(libreoffice-writer-nogui fonts-liberation2 fonts-freefont-ttf poppler-utils)
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
PYTHON=/usr/bin/python3  # Debian's, readable by the service user (not a python in root's home)
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || die "Python 3.11 or newer is needed (Debian 12 has it)."

step "2/7 Service user, data and backup folders"
id -u "$SERVICE_USER" >/dev/null 2>&1 ||
    useradd --system --user-group --home-dir "$DATA_DIR" --shell /usr/sbin/nologin "$SERVICE_USER"
install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 0750 "$DATA_DIR" "$BACKUP_DIR"
install -d -o root -g "$SERVICE_USER" -m 0750 /etc/chibo "$DATA_DIR/.streamlit"
if [ ! -s /etc/chibo/chibo.env ]; then
    # Streamlit signs its XSRF cookie with this; generated here so it is in no repository.
    (umask 027 && printf 'STREAMLIT_SERVER_COOKIE_SECRET=%s\n' "$(openssl rand -hex 32)" >/etc/chibo/chibo.env)
    chgrp "$SERVICE_USER" /etc/chibo/chibo.env
fi
if [ "$LAYOUT" = postgresql ]; then
    # Every process (chibo@PORT, the nightly dump) reads the database's address from here; the secret above is
    # the same for all of them, as it must be.
    sed -i '/^CHIBO_DB=/d' /etc/chibo/chibo.env
    printf 'CHIBO_DB=%s\n' "$PG_URL" >>/etc/chibo/chibo.env
    if [ "$PG_URL" = "$LOCAL_PG" ]; then
        if systemd_running; then systemctl enable --now postgresql; else service postgresql start; fi
        # The role chibo, reached by the service user over the local socket (Debian's peer authentication), owns
        # a database made with the C collation, so that text sorts as SQLite sorts it (docs/POSTGRESQL.md).
        as_postgres() { (cd / && runuser -u postgres -- "$@"); }
        [ "$(as_postgres psql -qtAc "select 1 from pg_roles where rolname = 'chibo'")" = 1 ] ||
            as_postgres createuser chibo
        [ "$(as_postgres psql -qtAc "select 1 from pg_database where datname = 'chibo'")" = 1 ] ||
            as_postgres createdb --locale=C --encoding=UTF8 --template=template0 --owner=chibo chibo
    fi
fi
# The production settings are the service user's global Streamlit config.
install -o root -g "$SERVICE_USER" -m 0640 "$APP_DIR/deploy/streamlit-config.toml" "$DATA_DIR/.streamlit/config.toml"

step "3/7 Python environment from requirements.txt"
if [ "$("$APP_DIR/.venv/bin/python" -c 'import sys; print(sys.base_prefix)' 2>/dev/null)" != /usr ]; then
    rm -rf "$APP_DIR/.venv"
    "$PYTHON" -m venv "$APP_DIR/.venv"
fi
"$APP_DIR/.venv/bin/python" -m pip install --quiet --upgrade pip
"$APP_DIR/.venv/bin/python" -m pip install --quiet -r "$APP_DIR/requirements.txt"
# The service cannot write under $APP_DIR, so compile the bytecode now.
"$APP_DIR/.venv/bin/python" -m compileall -q "$APP_DIR/app.py" "$APP_DIR/lib" "$APP_DIR/pages" "$APP_DIR/db"
chmod -R a+rX "$APP_DIR"

step "4/7 Database and first administrator"
as_service .venv/bin/python -m lib init
count=$(as_service .venv/bin/python -c 'from lib import db, users; print(users.count_users(db.connect()))')
if [ "$LAYOUT" = postgresql ] && [ "$count" = 0 ] && [ -s "$SQLITE_DB" ]; then
    # Moving from the one-server layout: its SQLite file, every row, into the new database (copy-db refuses a
    # database that already holds data). The SQLite app stops first, so nothing is saved there after the copy.
    systemd_running && systemctl disable --now chibo.service chibo-backup.timer 2>/dev/null || true
    as_service .venv/bin/python -m lib copy-db --from "$SQLITE_DB" --to "$PG_URL"
    count=$(as_service .venv/bin/python -c 'from lib import db, users; print(users.count_users(db.connect()))')
fi
if [ "$count" = 0 ]; then
    rule="8-256 characters with letters and digits; not a common password; not holding the user name or full name"
    create_admin() {
        printf '%s\n' "$1" |
            as_service .venv/bin/python -m lib create-user "$ADMIN_USER" --role admin --full-name "$ADMIN_NAME" \
                --password-stdin
    }
    if [ -t 0 ]; then
        # The password rule is checked by create-user; ask again (up to 5 times) with its message shown.
        created=no
        for _ in 1 2 3 4 5; do
            read -rsp "Password for the administrator $ADMIN_USER ($rule): " password
            echo
            read -rsp "The same password again: " again
            echo
            if [ "$password" != "$again" ]; then echo "The two passwords differ; try again."; continue; fi
            if create_admin "$password"; then created=yes; break; fi
        done
        [ "$created" = yes ] || die "no administrator created; run this script again."
    else
        IFS= read -r password || die "no password on standard input."
        create_admin "$password" || die "no administrator created: the password does not meet the rule ($rule)."
    fi
    unset password again
else
    echo "The database already has $count user(s); no administrator created."
fi

step "5/7 systemd units: the app and the nightly backup"
if [ "$LAYOUT" = postgresql ]; then
    units=(chibo@.service chibo-pgdump.service chibo-pgdump.timer)
    apps=()
    for port in $PORTS; do apps+=("chibo@$port.service"); done
    backup=chibo-pgdump.timer
    old=(chibo.service chibo-backup.timer)  # the one-server layout's, if this server had it
else
    units=(chibo.service chibo-backup.service chibo-backup.timer)
    apps=(chibo.service)
    backup=chibo-backup.timer
    old=()
fi
for unit in "${units[@]}"; do
    sed "s#/opt/chibo#$APP_DIR#g" "$APP_DIR/deploy/$unit" >"/etc/systemd/system/$unit"
done
if systemd_running; then
    systemctl daemon-reload
    [ ${#old[@]} -eq 0 ] || systemctl disable --now "${old[@]}" 2>/dev/null || true
    systemctl enable --now "$backup"
    systemctl enable "${apps[@]}"
    systemctl restart "${apps[@]}"
else
    [ ${#old[@]} -eq 0 ] || systemctl disable "${old[@]}" 2>/dev/null || true
    systemctl enable "${apps[@]}" "$backup"
    echo "systemd is not running here: the units are installed and enabled for the next boot."
fi

step "6/7 TLS certificate ($TLS)"
if [ "$TLS" = certbot ]; then
    cert_dir="/etc/letsencrypt/live/$DOMAIN"
    if [ ! -s "$cert_dir/fullchain.pem" ]; then
        # Debian's default nginx site (and later ours) serves /var/www/html on port 80, where
        # certbot puts the challenge; renewals reload nginx through the deploy hook.
        install -d /var/www/html
        certbot certonly --non-interactive --agree-tos --email "$EMAIL" --webroot -w /var/www/html \
            -d "$DOMAIN" --deploy-hook "systemctl reload nginx"
    fi
else
    cert_dir=/etc/ssl/chibo
    if [ ! -s "$cert_dir/fullchain.pem" ]; then
        install -d -m 0750 "$cert_dir"
        if [[ "$DOMAIN" =~ ^[0-9.]+$ ]]; then san="IP:$DOMAIN"; else san="DNS:$DOMAIN"; fi
        openssl req -x509 -newkey rsa:3072 -nodes -days 825 -subj "/CN=$DOMAIN" -addext "subjectAltName=$san" \
            -keyout "$cert_dir/privkey.pem" -out "$cert_dir/fullchain.pem" 2>/dev/null
        chmod 0600 "$cert_dir/privkey.pem"
    fi
fi

step "7/7 nginx site"
# One process on 8501, or (postgresql layout) the upstream of deploy/nginx-chibo-pg.conf over every process.
# shellcheck disable=SC2086
"$APP_DIR/deploy/nginx-site.sh" "$DOMAIN" "$cert_dir" ${UPSTREAMS:-$PORTS} >/etc/nginx/sites-available/chibo
ln -sf /etc/nginx/sites-available/chibo /etc/nginx/sites-enabled/chibo
rm -f /etc/nginx/sites-enabled/default
nginx -t
if systemd_running; then
    systemctl enable nginx
    systemctl reload-or-restart nginx
elif [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    nginx -s reload
else
    nginx
fi

if systemd_running; then
    printf 'Waiting for the app'
    for _ in $(seq 60); do
        if curl -fsk --resolve "$DOMAIN:443:127.0.0.1" "https://$DOMAIN/_stcore/health" >/dev/null 2>&1; then
            printf ' ok\n\nOpen https://%s and sign in as %s.\n' "$DOMAIN" "$ADMIN_USER"
            exit 0
        fi
        printf '.'
        sleep 1
    done
    die "the app did not answer; see: journalctl -u ${apps[0]} -n 50"
fi
printf '\nInstalled. Start the app with: systemctl start %s\n' "${apps[*]}"
