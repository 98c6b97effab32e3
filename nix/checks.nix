# `nix flake check`: the same checks scripts/test.sh runs, each its own derivation.
{
  pkgs,
  craneLib,
  common,
  cargoArtifacts,
  edgeZips,
  src,
}:
let
  withArtifacts = common // {
    inherit cargoArtifacts;
  };
in
{
  fmt = craneLib.cargoFmt common;

  clippy = craneLib.cargoClippy (
    withArtifacts
    // {
      cargoClippyExtraArgs = "--workspace --all-targets -- -D warnings";
    }
  );

  # The Secrets Manager test starts moto's server on 127.0.0.1.
  tests = craneLib.cargoTest (
    withArtifacts
    // {
      nativeBuildInputs = common.nativeBuildInputs ++ [ pkgs.python3Packages.moto ];
      cargoTestExtraArgs = "--workspace";
    }
  );

  # Viewer-request packages must fit Lambda@Edge's 1 MiB.
  zip-size-budget = pkgs.runCommand "edge-auth-zip-size-budget" { } ''
    size=$(stat -c %s ${edgeZips}/authorize.zip)
    echo "authorize.zip: $size bytes"
    test "$size" -le 1048576
    touch $out
  '';

  # Each zip unpacked and run in Node as Lambda would.
  edge-packages =
    pkgs.runCommand "edge-auth-edge-packages"
      {
        nativeBuildInputs = [
          pkgs.nodejs_22
          pkgs.python3
        ];
      }
      ''
        cp -r ${src} source && chmod -R u+w source && cd source
        EDGE_AUTH_DIST=${edgeZips} node --test tests/edge/
        touch $out
      '';

  templates =
    pkgs.runCommand "edge-auth-templates-lint"
      {
        nativeBuildInputs = [
          pkgs.python3Packages.cfn-lint
          pkgs.python3Packages.pytest
        ];
      }
      ''
        cp -r ${src} source && chmod -R u+w source && cd source
        mkdir -p dist && cp ${edgeZips}/*.zip dist/
        cfn-lint sam/user-pool/template.yaml sam/edge-functions/template.yaml sam/distribution/template.yaml
        python3 -m pytest -q tests/templates
        touch $out
      '';
}
