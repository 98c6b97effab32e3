# Everything the flake offers for one host system. Nix wraps, scripts do:
# the edge zips come from scripts/package.py, exactly as CI builds them.
{
  nixpkgs,
  crane,
  rust-overlay,
  system,
  src,
}:
let
  pkgs = import nixpkgs {
    inherit system;
    overlays = [ rust-overlay.overlays.default ];
  };
  inherit (pkgs) lib;

  # The toolchain rust-toolchain.toml pins, able to build for the edge.
  toolchain = (pkgs.rust-bin.fromRustupToolchainFile (src + "/rust-toolchain.toml")).override {
    targets = [ "x86_64-unknown-linux-gnu" ];
  };
  craneLib = (crane.mkLib pkgs).overrideToolchain (_: toolchain);

  # Sources cargo needs, plus what the packaging and tests read.
  source = lib.cleanSourceWith {
    inherit src;
    filter =
      path: type:
      (craneLib.filterCargoSources path type)
      || lib.hasInfix "/crates/testkit/keys/" path
      || lib.hasInfix "/crates/testkit/fixtures/" path
      || lib.hasInfix "/packaging/" path
      || lib.hasInfix "/scripts/" path
      || lib.hasInfix "/docs/" path;
  };

  common = {
    src = source;
    strictDeps = true;
    pname = "edge-auth";
    version = "0.1.0";
    nativeBuildInputs = [ pkgs.pkg-config ];
  };
  cargoArtifacts = craneLib.buildDepsOnly common;

  edgeZips = import ./edge-zips.nix {
    inherit
      pkgs
      craneLib
      common
      cargoArtifacts
      ;
  };
  emulator = craneLib.buildPackage (
    common
    // {
      inherit cargoArtifacts;
      cargoExtraArgs = "--locked -p edge-auth-emulator";
      doCheck = false;
      meta.mainProgram = "edge-auth-dev";
    }
  );
  deploy = craneLib.buildPackage (
    common
    // {
      inherit cargoArtifacts;
      cargoExtraArgs = "--locked -p edge-auth-deploy";
      doCheck = false;
      meta.mainProgram = "edge-auth-deploy";
    }
  );
  site = pkgs.runCommand "edge-auth-site" { } "cp -r ${src + "/site"} $out";
  templates = pkgs.runCommand "edge-auth-templates" { } "cp -r ${src + "/sam"} $out";
in
{
  packages = {
    edge-zips = edgeZips;
    edge-addons = pkgs.runCommand "edge-auth-edge-addons" { } "cp -r ${edgeZips}/addons $out";
    inherit
      emulator
      deploy
      site
      templates
      ;
    # One directory with everything a deployment needs.
    default = pkgs.linkFarm "edge-auth" [
      {
        name = "packages";
        path = edgeZips;
      }
      {
        name = "site";
        path = site;
      }
      {
        name = "sam";
        path = templates;
      }
    ];
  };

  checks = import ./checks.nix {
    inherit
      pkgs
      craneLib
      common
      cargoArtifacts
      edgeZips
      src
      ;
  };

  apps.dev = {
    type = "app";
    program = "${pkgs.writeShellScript "edge-auth-dev" ''
      exec ${lib.getExe emulator} --site ${site} --users ${src + "/dev/users.json"} "$@"
    ''}";
    meta.description = "The protected example site on 127.0.0.1 with the development identity provider";
  };

  # Run from the repository root: settings and the site directory are read
  # from there; the packages and templates are the ones this flake built.
  apps.deploy-prod = {
    type = "app";
    program = "${pkgs.writeShellScript "edge-auth-deploy-prod" ''
      export PATH=${
        lib.makeBinPath [
          pkgs.aws-sam-cli
          pkgs.awscli2
        ]
      }:$PATH
      exec ${lib.getExe deploy} --settings deploy/prod.toml --packages ${edgeZips} --templates ${templates} "$@"
    ''}";
    meta.description = "Deploy the prod environment (deploy/prod.toml): user pool, edge functions, distribution, site";
  };

  devShell = craneLib.devShell {
    packages = [
      pkgs.zig
      pkgs.cargo-zigbuild
      pkgs.aws-sam-cli
      pkgs.awscli2
      pkgs.python3Packages.cfn-lint
      pkgs.nodejs_22
      pkgs.nixfmt-rfc-style
      pkgs.deadnix
    ];
  };

  formatter = pkgs.nixfmt-rfc-style;
}
