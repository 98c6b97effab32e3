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
    # The zips, and the two addons they carry (viewer: authorize and
    # index-path; origin: signin, refresh, signout) under addons/.
    installPhaseCommand = ''
      mkdir -p $out/addons
      cp "$TMPDIR"/dist/*.zip $out/
      cp -r "$TMPDIR"/dist/build/viewer "$TMPDIR"/dist/build/origin $out/addons/
    '';
    doCheck = false;
  }
)
