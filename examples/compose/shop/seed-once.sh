#!/bin/sh
# Seeds the shop's database the first time only: `python -m reference_backend seed` replaces
# every row, which must not happen under a running shop each time the stack comes up.
# Arguments are the seed command's (--products, --customers, --orders, --seed).
set -e
if python - <<'PY'
import sys

from sqlalchemy import create_engine, inspect, text

from reference_backend.settings import Settings

engine = create_engine(Settings.from_environ().database_url)
with engine.connect() as conn:
    seeded = inspect(conn).has_table("products") and conn.execute(
        text("SELECT 1 FROM products LIMIT 1")
    ).first() is not None
engine.dispose()
sys.exit(0 if seeded else 1)
PY
then
    echo "shop database already seeded: leaving it as it is"
    exit 0
fi
exec python -m reference_backend seed "$@"
