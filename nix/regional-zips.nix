# sign-in, refresh and sign-out as regional arm64 Lambda functions
# (provided.al2023), by the same command CI runs: scripts/package.py
# --regional cross-builds the lambda_runtime binaries for aarch64 Linux
# against glibc 2.17 with cargo-zigbuild, whatever the host, and zips each
# as `bootstrap`.
{
  pkgs,
  craneLib,
  common,
}:
craneLib.mkCargoDerivation (
  common
  // {
    pname = "edge-auth-regional-zips";
    # The x86_64 dependency build is of no use to an aarch64 build.
    cargoArtifacts = null;
    nativeBuildInputs = common.nativeBuildInputs ++ [
      pkgs.zig
      pkgs.cargo-zigbuild
      pkgs.python3
      pkgs.binutils
    ];
    buildPhaseCargoCommand = ''
      export HOME="$TMPDIR/home"
      mkdir -p "$HOME"
      export ZIG_GLOBAL_CACHE_DIR="$TMPDIR/zig-cache"
      export XDG_CACHE_HOME="$TMPDIR/cache"
      python3 scripts/package.py --regional --out "$TMPDIR/dist"
    '';
    installPhaseCommand = ''
      mkdir -p $out
      cp "$TMPDIR"/dist/regional/*.zip $out/
    '';
    doInstallCargoArtifacts = false;
    doCheck = false;
  }
)
