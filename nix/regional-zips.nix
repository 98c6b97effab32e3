# sign-in, refresh and sign-out as regional arm64 Lambda functions
# (provided.al2023), by the same command CI runs: scripts/package.py
# --regional cross-builds the lambda_runtime binaries for aarch64 Linux
# against glibc 2.17 with cargo-zigbuild, whatever the host, and zips each
# as `bootstrap`.
{
  craneLib,
  common,
  zigbuildSetup,
}:
craneLib.mkCargoDerivation (
  common
  // {
    pname = "edge-auth-regional-zips";
    # The x86_64 dependency build is of no use to an aarch64 build.
    cargoArtifacts = null;
    nativeBuildInputs = common.nativeBuildInputs ++ zigbuildSetup.inputs;
    buildPhaseCargoCommand = ''
      ${zigbuildSetup.env}
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
