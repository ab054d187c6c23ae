#!/bin/sh
# Creates sloscope's and the shop's databases, each owned by its own login role. The official
# postgres image runs this once, when its data volume is empty (/docker-entrypoint-initdb.d),
# against its temporary local server as $POSTGRES_USER.
#
# Passwords come from SLOSCOPE_DB_PASSWORD and SHOP_DB_PASSWORD; psql quotes them (:'...'), so
# any character is safe here (in the services' URLs, percent-encode what URLs reserve).
# The names can be changed with SLOSCOPE_DB / SHOP_DB (the roles are named like the databases).
set -e
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v sloscope_db="${SLOSCOPE_DB:-sloscope}" -v sloscope_password="$SLOSCOPE_DB_PASSWORD" \
    -v shop_db="${SHOP_DB:-shop}" -v shop_password="$SHOP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"sloscope_db" LOGIN PASSWORD :'sloscope_password';
CREATE DATABASE :"sloscope_db" OWNER :"sloscope_db";
CREATE ROLE :"shop_db" LOGIN PASSWORD :'shop_password';
CREATE DATABASE :"shop_db" OWNER :"shop_db";
SQL
