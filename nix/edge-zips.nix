# The five Lambda@Edge zips, by the same command CI runs:
# scripts/package.py cross-builds the addons for x86_64 Linux against
# glibc 2.17 with cargo-zigbuild, whatever the host.
{
  pkgs,
  craneLib,
  common,
  cargoArtifacts,
}:
craneLib.mkCargoDerivation (
  common
  // {
    inherit cargoArtifacts;
    pname = "edge-auth-edge-zips";
    nativeBuildInputs = common.nativeBuildInputs ++ [
      pkgs.zig
      pkgs.cargo-zigbuild
      pkgs.python3
      pkgs.binutils
    ];
    buildPhaseCargoCommand = ''
      export ZIG_GLOBAL_CACHE_DIR="$TMPDIR/zig-cache"
      export XDG_CACHE_HOME="$TMPDIR/cache"
      python3 scripts/package.py --out "$TMPDIR/dist"
    '';
    installPhaseCommand = ''
      mkdir -p $out
      cp "$TMPDIR"/dist/*.zip $out/
    '';
    doCheck = false;
  }
)
