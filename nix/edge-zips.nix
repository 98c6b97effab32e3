# The five Lambda@Edge zips, by the same command CI runs:
# scripts/package.py cross-builds the addons for x86_64 Linux against
# glibc 2.17 with cargo-zigbuild, whatever the host.
{
  craneLib,
  common,
  cargoArtifacts,
  zigbuildSetup,
}:
craneLib.mkCargoDerivation (
  common
  // {
    inherit cargoArtifacts;
    pname = "edge-auth-edge-zips";
    nativeBuildInputs = common.nativeBuildInputs ++ zigbuildSetup.inputs;
    buildPhaseCargoCommand = ''
      ${zigbuildSetup.env}
      python3 scripts/package.py --out "$TMPDIR/dist"
    '';
    # `out`: exactly the five zips, what deploy-prod uploads. `addons`: the
    # two addons they carry (viewer: authorize and index-path; origin:
    # signin, refresh, signout).
    outputs = [
      "out"
      "addons"
    ];
    installPhaseCommand = ''
      mkdir -p $out $addons
      cp "$TMPDIR"/dist/*.zip $out/
      cp -r "$TMPDIR"/dist/build/viewer "$TMPDIR"/dist/build/origin $addons/
    '';
    # crane would add target.tar.zst (the Cargo build) to the output.
    doInstallCargoArtifacts = false;
    doCheck = false;
  }
)
