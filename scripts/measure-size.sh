#!/usr/bin/env bash
# Builds the lambda_runtime handler binaries in release and prints each one's
# size zipped as Lambda would take it (one `bootstrap` file, deflate -9).
# authorize and index-path build without the `provider` feature: no TLS stack,
# no AWS SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p edge-auth-lambda --no-default-features --bin authorize --bin index-path
cargo build --release --locked -p edge-auth-lambda --bin signin --bin refresh --bin signout
python3 - <<'PY'
import io, os, zipfile
for name in ["authorize", "index-path", "signin", "refresh", "signout"]:
    data = open(f"target/release/{name}", "rb").read()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap", (1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o755 << 16
        z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    print(f"{name:11} binary {len(data):>9} bytes   zipped {len(buf.getvalue()):>9} bytes ({len(buf.getvalue())/1048576:.2f} MiB)")
PY
