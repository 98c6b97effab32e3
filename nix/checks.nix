# `nix flake check`: the same checks scripts/test.sh runs, each its own
# derivation. README.md ("Nix") lists every CI step with its check here, and
# the CI steps that have none.
{
  pkgs,
  lib,
  craneLib,
  common,
  cargoArtifacts,
  edgeZips,
  emulator,
  deploy,
  src,
}:
let
  withArtifacts = common // {
    inherit cargoArtifacts;
  };
  # moto's server (moto_server) needs its `server` extras (flask).
  motoServer = pkgs.python3.withPackages (ps: [ ps.moto ] ++ ps.moto.optional-dependencies.server);
  # The zips once more, as a separate derivation: the two must be identical
  # byte for byte (scripts/check-deterministic.sh does the same in CI).
  edgeZipsAgain = edgeZips.overrideAttrs (_: {
    pname = "edge-auth-edge-zips-again";
  });
  # tests/browser's locked npm packages (playwright-core, oidc-provider).
  browserNodeModules = pkgs.importNpmLock.buildNodeModules {
    npmRoot = src + "/tests/browser";
    nodejs = pkgs.nodejs_22;
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

  # The origin addon (signin, refresh, signout) is the same crate with the
  # `provider` feature: lint that build too.
  clippy-origin-addon = craneLib.cargoClippy (
    withArtifacts
    // {
      pname = "edge-auth-origin-addon";
      cargoClippyExtraArgs = "-p edge-auth-addon --features provider -- -D warnings";
    }
  );

  # The Secrets Manager and deploy tests start moto's server on 127.0.0.1;
  # the CloudFront Function's differential test runs it in Node.js.
  tests = craneLib.cargoTest (
    withArtifacts
    // {
      nativeBuildInputs = common.nativeBuildInputs ++ [
        motoServer
        pkgs.nodejs_22
      ];
      cargoTestExtraArgs = "--workspace";
      __darwinAllowLocalNetworking = true;
    }
  );

  # Viewer-request packages must fit Lambda@Edge's 1 MiB.
  zip-size-budget = pkgs.runCommand "edge-auth-zip-size-budget" { } ''
    size=$(stat -c %s ${edgeZips}/authorize.zip)
    echo "authorize.zip: $size bytes"
    test "$size" -le 1048576
    touch $out
  '';

  deterministic-zips = pkgs.runCommand "edge-auth-deterministic-zips" { } ''
    for zip in ${edgeZips}/*.zip; do
      cmp "$zip" ${edgeZipsAgain}/"$(basename "$zip")"
    done
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
        cfn-lint sam/user-pool/template.yaml sam/edge-functions/template.yaml sam/auth-endpoints/template.yaml sam/viewer-function/template.yaml sam/distribution/template.yaml sam/waf/template.yaml sam/monitoring/template.yaml sam/site-grants/template.yaml
        python3 -m pytest -q tests/templates
        touch $out
      '';
}
# The browser suite drives nixpkgs' Chromium, which nixpkgs builds for Linux
# only; on macOS hosts this check does not exist.
// lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
  browser =
    pkgs.runCommand "edge-auth-browser-tests"
      {
        nativeBuildInputs = [
          pkgs.nodejs_22
          pkgs.chromium
        ];
      }
      ''
        cp -r ${src} source && chmod -R u+w source && cd source
        ln -s ${browserNodeModules}/node_modules tests/browser/node_modules
        export HOME="$TMPDIR/home" && mkdir -p "$HOME"
        export CHROMIUM_PATH=${lib.getExe pkgs.chromium}
        export EDGE_AUTH_DEV_BIN=${lib.getExe emulator}
        export EDGE_AUTH_DEPLOY_BIN=${lib.getExe deploy}
        node --test --test-concurrency=1 tests/browser/
        EDGE_AUTH_AUTHORIZER=lambda-edge EDGE_AUTH_AUTH_ENDPOINTS=edge node --test --test-concurrency=1 tests/browser/local-edge.test.mjs
        touch $out
      '';
}
