#!/usr/bin/env bash
# What can be checked of the flake without building it (this machine's Nix
# is 2.8, with no binary cache): every .nix file parses, is formatted
# (nixfmt, from the nixfmt_rs crate), has no dead code (deadnix), and the
# lock pins every input of flake.nix with `original` matching it.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.nix' 2>/dev/null || find . -name '*.nix' -not -path './target/*')
for f in "${files[@]}"; do
  nix-instantiate --parse "$f" >/dev/null
done
echo "parse: ${#files[@]} files"
nixfmt --check "${files[@]}"
echo "nixfmt: formatted"
deadnix --fail "${files[@]}"
echo "deadnix: nothing unused"
python3 - <<'PY'
import json, re
lock = json.load(open("flake.lock"))
flake = open("flake.nix").read()
nodes = lock["nodes"]
root_inputs = nodes[lock["root"]]["inputs"]
urls = dict(re.findall(r'(\S+?)(?:\.url)? = (?:\{\s*url = )?"((?:github:|https://)[^"]+)"', flake))
for name in ["nixpkgs", "crane", "rust-overlay"]:
    assert name in root_inputs, f"flake.lock has no root input {name}"
    node = nodes[root_inputs[name]]
    locked, original = node["locked"], node["original"]
    url = next(u for k, u in urls.items() if k.split(".")[0] == name)
    if url.startswith("github:"):
        parts = url.removeprefix("github:").split("/")
        expect = {"type": "github", "owner": parts[0], "repo": parts[1]}
        if len(parts) > 2:
            expect["ref"] = parts[2]
    else:
        expect = {"type": "tarball", "url": url}
        # A channel tarball is locked to the release it redirected to,
        # which names the same revision.
        assert locked["type"] == "tarball" and locked["rev"][:12] in locked["url"], f"{name}: locked url"
    assert original == expect, f"{name}: original {original} != flake.nix {expect}"
    assert re.fullmatch(r"[0-9a-f]{40}", locked["rev"]), f"{name}: rev"
    assert re.fullmatch(r"sha256-[A-Za-z0-9+/]{43}=", locked["narHash"]), f"{name}: narHash"
    print(f"lock: {name} {locked['rev'][:12]} {locked['narHash']}")
assert nodes["rust-overlay"]["inputs"]["nixpkgs"] == ["nixpkgs"], "rust-overlay follows nixpkgs"
PY
