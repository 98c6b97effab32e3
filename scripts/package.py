#!/usr/bin/env python3
"""Builds the five Lambda@Edge packages: `scripts/package.py [--out dist]`.

Each zip holds `index.js` (the Node.js 22 handler module, no npm
dependencies) and `edge_auth.node` (the Rust handlers as a Node-API addon).
The addons are cross-built for x86_64 Linux against glibc 2.17 with
cargo-zigbuild, so they load on Lambda's Amazon Linux 2023 (glibc 2.34)
whatever the build host. Zips are deterministic: the same sources give
byte-identical zips. config.json is not included: the deploy tool writes it
into copies of these zips (`--config FILE` adds one, for tests).

Prints each zip's size and highest GLIBC symbol version; fails when a
viewer-request package exceeds Lambda@Edge's 1 MiB limit.

`--regional` builds instead sign-in, refresh and sign-out as regional arm64
functions (dist/regional/<name>.zip, each a `bootstrap` for
provided.al2023), and checks each is an aarch64 ELF needing glibc <= 2.17.
"""

import argparse
import os
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = "x86_64-unknown-linux-gnu"
GLIBC = "2.17"
VIEWER_LIMIT = 1024 * 1024  # Lambda@Edge viewer-request package, zipped
ORIGIN_LIMIT = 50 * 1024 * 1024

VIEWER_BODY = """async (event, context) => {
  const answer = edge.handle(JSON.stringify(event), context.awsRequestId);
  return answer === null ? event.Records[0].cf.request : fromLines(answer);
}"""
# authorize reads the method, path, query and a few headers, and never
# changes a request it lets through: only those cross into Rust, as lines
# (core: event::parse_request_lines) when each is one line, else the whole
# event as JSON, whose parse names what is wrong. A browser sends ~16
# headers; stringifying and parsing them all cost more than the decision.
# The untouched request object is what goes on.
AUTHORIZE_HELPERS = """const READ_HEADERS = ['host', 'cookie', 'accept', 'sec-fetch-mode', 'sec-fetch-site', 'sec-fetch-dest', 'x-requested-with'];
const oneLine = (s) => typeof s === 'string' && s.indexOf('\\n') === -1;

// undefined when a field is not a string or spans lines.
function requestLines(config, request) {
  const fixed = [config.distributionDomainName, config.distributionId, config.eventType, config.requestId,
    request.clientIp, request.method, request.uri, request.querystring];
  let text = '';
  for (const field of fixed) {
    if (!oneLine(field)) return undefined;
    text += field + '\\n';
  }
  // The domain name comes first; a `{` there would read as JSON.
  if (text[0] === '{') return undefined;
  const headers = request.headers;
  for (const name of READ_HEADERS) {
    const entries = headers[name];
    if (entries === undefined) continue;
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > 16) return undefined;
    text += name + '\\n' + entries.length + '\\n';
    for (const entry of entries) {
      if (!oneLine(entry?.key) || !oneLine(entry.value)) return undefined;
      text += entry.key + '\\n' + entry.value + '\\n';
    }
  }
  return text;
}

"""
AUTHORIZE_BODY = """async (event, context) => {
  const cf = event?.Records?.length === 1 ? event.Records[0]?.cf : undefined;
  const request = cf?.request;
  const lines = typeof request?.headers === 'object' && request.headers !== null && typeof cf.config === 'object' && cf.config !== null
    ? requestLines(cf.config, request) : undefined;
  const answer = edge.handle(lines ?? JSON.stringify(event), context.awsRequestId);
  return answer === null ? request : fromLines(answer);
}"""
ORIGIN_BODY = "(event, context) =>\n  edge.handleAsync(JSON.stringify(event), context.awsRequestId, context.getRemainingTimeInMillis())"

# handler -> (addon flavour, trigger)
HANDLERS = {
    "authorize": ("viewer", "viewer-request"),
    "index-path": ("viewer", "origin-request"),
    "signin": ("origin", "origin-request"),
    "refresh": ("origin", "origin-request"),
    "signout": ("origin", "origin-request"),
}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def build_addon(flavour: str, out: Path) -> Path:
    features = ["--features", "provider"] if flavour == "origin" else []
    cmd = ["cargo", "zigbuild", "--release", "--locked", "-p", "edge-auth-addon",
           "--target", f"{TARGET}.{GLIBC}", *features]
    print("+", " ".join(cmd), flush=True)
    # cargo-zigbuild and zig live in the project's virtual environment (scripts/setup.sh).
    env = dict(os.environ, PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)
    built = target_dir() / TARGET / "release" / "libedge_auth_addon.so"
    dest = out / "build" / flavour / "edge_auth.node"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, dest)
    return dest


def target_dir() -> Path:
    """Cargo's target directory, wherever CARGO_TARGET_DIR or config puts it."""
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                          cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return Path(json.loads(meta)["target_directory"])


def highest_glibc(library: Path) -> str:
    symbols = subprocess.run(["objdump", "-T", str(library)], check=True, capture_output=True, text=True).stdout
    versions = {tuple(int(p) for p in m.groups()) for m in re.finditer(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", symbols)}
    return "GLIBC_" + ".".join(map(str, max(versions))) if versions else "none"


def handler_module(name: str, flavour: str) -> bytes:
    template = (ROOT / "packaging" / "handler.js").read_text()
    body = AUTHORIZE_BODY if name == "authorize" else VIEWER_BODY if flavour == "viewer" else ORIGIN_BODY
    helpers = AUTHORIZE_HELPERS if name == "authorize" else ""
    return template.replace("@HANDLER@", name).replace("@HELPERS@", helpers).replace("@BODY@", body).encode()


def write_zip(path: Path, files: dict[str, bytes], executable: frozenset[str] = frozenset()) -> None:
    """Sorted entries, fixed timestamps and permissions: byte-identical output."""
    with zipfile.ZipFile(path, "w") as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.create_system = 3  # unix, so the permissions below are honoured
            info.external_attr = (0o100755 if name in executable else 0o100644) << 16
            z.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


REGIONAL = ["signin", "refresh", "signout"]
REGIONAL_TARGET = "aarch64-unknown-linux-gnu"
EM_AARCH64 = 183


def elf_machine(binary: Path) -> str:
    header = binary.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return "not ELF"
    machine = int.from_bytes(header[18:20], "little")
    return "aarch64" if machine == EM_AARCH64 else f"e_machine {machine}"


def package_regional(out: Path) -> int:
    """signin, refresh and signout as regional arm64 Lambda functions
    (provided.al2023): the lambda_runtime binaries, cross-built with
    cargo-zigbuild against glibc 2.17, each zipped as `bootstrap`."""
    cmd = ["cargo", "zigbuild", "--release", "--locked", "-p", "edge-auth-lambda",
           *[arg for name in REGIONAL for arg in ("--bin", name)], "--target", f"{REGIONAL_TARGET}.{GLIBC}"]
    print("+", " ".join(cmd), flush=True)
    env = dict(os.environ, PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)
    regional = out / "regional"
    regional.mkdir(parents=True, exist_ok=True)
    failures = []
    print(f"\n{'function':<12} {'zip bytes':>10} {'MiB':>6}  {'ELF':<8} highest glibc symbol")
    for name in REGIONAL:
        binary = target_dir() / REGIONAL_TARGET / "release" / name
        zip_path = regional / f"{name}.zip"
        write_zip(zip_path, {"bootstrap": binary.read_bytes()}, executable=frozenset({"bootstrap"}))
        size = zip_path.stat().st_size
        machine = elf_machine(binary)
        glibc = highest_glibc(binary)
        print(f"{name:<12} {size:>10} {size / 1048576:>6.3f}  {machine:<8} {glibc}")
        if machine != "aarch64":
            failures.append(f"{name}: {machine}, not aarch64")
        if size > ORIGIN_LIMIT:
            failures.append(f"{name}.zip is {size} bytes, over Lambda's {ORIGIN_LIMIT}-byte zip limit")
        failures += glibc_failures(name, glibc)
    return report(failures)


def glibc_failures(name: str, glibc: str) -> list[str]:
    if glibc != "none" and tuple(map(int, glibc[6:].split("."))) > tuple(map(int, GLIBC.split("."))):
        return [f"{name}: needs {glibc}, newer than glibc {GLIBC}"]
    return []


def report(failures: list[str]) -> int:
    for failure in failures:
        print("error:", failure, file=sys.stderr)
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory (default: dist)")
    parser.add_argument("--config", type=Path, help="a config.json to put in every zip (tests only)")
    parser.add_argument("--only", choices=["viewer", "origin"], help="build one addon flavour")
    parser.add_argument("--reuse-build", type=Path, metavar="DIR",
                        help="zip the addons already built under DIR/build instead of building")
    parser.add_argument("--regional", action="store_true",
                        help="build the regional arm64 sign-in, refresh and sign-out functions instead (dist/regional)")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.regional:
        return package_regional(out)

    flavours = [args.only] if args.only else ["viewer", "origin"]
    if args.reuse_build:
        addons = {flavour: args.reuse_build.resolve() / "build" / flavour / "edge_auth.node" for flavour in flavours}
    else:
        addons = {flavour: build_addon(flavour, out) for flavour in flavours}
    extra = {"config.json": args.config.read_bytes()} if args.config else {}

    failures = []
    print(f"\n{'package':<12} {'trigger':<15} {'zip bytes':>10} {'MiB':>6}  highest glibc symbol")
    for name, (flavour, trigger) in HANDLERS.items():
        if flavour not in addons:
            continue
        files = {"index.js": handler_module(name, flavour), "edge_auth.node": addons[flavour].read_bytes(), **extra}
        zip_path = out / f"{name}.zip"
        write_zip(zip_path, files)
        size = zip_path.stat().st_size
        glibc = highest_glibc(addons[flavour])
        print(f"{name:<12} {trigger:<15} {size:>10} {size / 1048576:>6.3f}  {glibc}")
        limit = VIEWER_LIMIT if trigger.startswith("viewer") else ORIGIN_LIMIT
        if size > limit:
            failures.append(f"{name}.zip is {size} bytes, over the {trigger} limit of {limit}")
        failures += glibc_failures(name, glibc)
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
