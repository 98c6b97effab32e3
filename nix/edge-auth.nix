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

  # The toolchain rust-toolchain.toml pins, able to build for the edge
  # (x86_64) and for the regional functions (aarch64).
  toolchain = (pkgs.rust-bin.fromRustupToolchainFile (src + "/rust-toolchain.toml")).override {
    targets = [
      "x86_64-unknown-linux-gnu"
      "aarch64-unknown-linux-gnu"
    ];
  };
  craneLib = (crane.mkLib pkgs).overrideToolchain (_: toolchain);

  # Sources cargo needs, plus exactly the other files the packaging and the
  # tests read (listed in nix/extra-sources, which CI proves complete).
  extraSources = lib.filter (line: line != "" && !lib.hasPrefix "#" line) (
    lib.splitString "\n" (builtins.readFile ./extra-sources)
  );
  source = lib.cleanSourceWith {
    inherit src;
    filter =
      path: type:
      let
        relative = lib.removePrefix (toString src + "/") (toString path);
      in
      # crane keeps *.rs, *.toml, Cargo.lock and every folder.
      (craneLib.filterCargoSources path type)
      || lib.any (extra: relative == extra || lib.hasPrefix (extra + "/") relative) extraSources;
  };

  common = {
    src = source;
    strictDeps = true;
    pname = "edge-auth";
    version = "0.1.0";
    nativeBuildInputs = [ pkgs.pkg-config ];
  };
  cargoArtifacts = craneLib.buildDepsOnly common;

  # What scripts/package.py needs to cross-build with cargo-zigbuild in the
  # build sandbox, whose HOME is not writable on macOS (and not meant to be
  # used anywhere): zig and cargo-zigbuild keep caches under it.
  zigbuildSetup = {
    inputs = [
      pkgs.zig
      pkgs.cargo-zigbuild
      pkgs.python3
      pkgs.binutils
    ];
    env = ''
      export HOME="$TMPDIR/home"
      mkdir -p "$HOME"
      export ZIG_GLOBAL_CACHE_DIR="$TMPDIR/zig-cache"
      export XDG_CACHE_HOME="$TMPDIR/cache"
    '';
  };

  edgeZips = import ./edge-zips.nix {
    inherit
      craneLib
      common
      cargoArtifacts
      zigbuildSetup
      ;
  };
  regionalZips = import ./regional-zips.nix {
    inherit
      craneLib
      common
      zigbuildSetup
      ;
  };
  emulator = craneLib.buildPackage (
    common
    // {
      inherit cargoArtifacts;
      pname = "edge-auth-emulator";
      cargoExtraArgs = "--locked -p edge-auth-emulator";
      doCheck = false;
      meta.mainProgram = "edge-auth-dev";
    }
  );
  deploy = craneLib.buildPackage (
    common
    // {
      inherit cargoArtifacts;
      pname = "edge-auth-deploy";
      cargoExtraArgs = "--locked -p edge-auth-deploy";
      doCheck = false;
      meta.mainProgram = "edge-auth-deploy";
    }
  );
  site = pkgs.runCommand "edge-auth-site" { } "cp -r ${src + "/site"} $out";
  templates = pkgs.runCommand "edge-auth-templates" { } "cp -r ${src + "/sam"} $out";
  # crane as locked needs Nix 2.31.2 or later (its changelog drops older
  # ones). With an older Nix, `nix develop` does not open a shell that fails
  # later in some obscure way: it says which Nix it found and what to do.
  # `nix develop .#any-nix` opens the real shell anyway.
  minimumNix = "2.31.2";
  toolShell = craneLib.devShell {
    packages = [
      pkgs.zig
      pkgs.cargo-zigbuild
      pkgs.aws-sam-cli
      pkgs.awscli2
      pkgs.python3Packages.cfn-lint
      pkgs.nodejs_22
      pkgs.nixfmt
      pkgs.deadnix
    ];
  };
  # The edge zips only with authorizer = "lambda-edge": the default deploys
  # the regional ones alone, and `nix run .#deploy-prod` builds no more.
  prodSettings = builtins.fromTOML (builtins.readFile (src + "/deploy/prod.toml"));
  edgePackages = lib.optionalString (
    (prodSettings.authorizer or "cloudfront-function") == "lambda-edge"
  ) "--packages ${edgeZips}";
in
{
  packages = {
    edge-zips = edgeZips;
    # The two Node-API addons the zips carry, for inspection or other packaging.
    edge-addons = edgeZips.addons;
    # signin, refresh and signout as regional arm64 functions.
    regional-zips = regionalZips;
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
        name = "regional-packages";
        path = regionalZips;
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
      lib
      craneLib
      common
      cargoArtifacts
      edgeZips
      emulator
      deploy
      src
      ;
  };

  apps.dev = {
    type = "app";
    program = "${pkgs.writeShellScript "edge-auth-dev" ''
      # Node.js runs the CloudFront Function (the default --authorizer).
      export EDGE_AUTH_NODE=''${EDGE_AUTH_NODE:-${lib.getExe pkgs.nodejs_22}}
      exec ${lib.getExe emulator} --site ${site} --users ${src + "/dev/users.json"} "$@"
    ''}";
    meta.description = "The protected example site on 127.0.0.1 with the development identity provider";
  };

  # Run from the repository root: settings and the site directory are read
  # from there; the packages and templates are the ones this flake built,
  # and only those the settings deploy (prodSettings, edgePackages).
  apps.deploy-prod = {
    type = "app";
    program = "${pkgs.writeShellScript "edge-auth-deploy-prod" ''
      export PATH=${
        lib.makeBinPath [
          pkgs.aws-sam-cli
          pkgs.awscli2
        ]
      }:$PATH
      exec ${lib.getExe deploy} deploy --settings deploy/prod.toml ${edgePackages} --regional-packages ${regionalZips} --templates ${templates} "$@"
    ''}";
    meta.description = "Deploy the prod environment (deploy/prod.toml): user pool, regional auth endpoints (arm64), distribution with its CloudFront Function and key value store, site";
  };

  # `nix run .#destroy-prod -- --dry-run` shows the teardown plan first.
  apps.destroy-prod = {
    type = "app";
    program = "${pkgs.writeShellScript "edge-auth-destroy-prod" ''
      exec ${lib.getExe deploy} destroy --settings deploy/prod.toml "$@"
    ''}";
    meta.description = "Tear down the prod environment (deploy/prod.toml) in the order AWS requires; the user pool and, unless --empty-bucket, the site bucket stay";
  };

  devShell =
    if lib.versionOlder builtins.nixVersion minimumNix then
      pkgs.mkShell {
        shellHook = ''
          echo "edge-auth: this flake needs Nix ${minimumNix} or later (crane, as locked, needs it); this is Nix ${builtins.nixVersion}." >&2
          echo "Upgrade Nix (https://nixos.org/download), or run without Nix: scripts/dev.sh, scripts/test.sh (README)." >&2
          echo "To try the shell anyway: nix develop .#any-nix" >&2
          exit 1
        '';
      }
    else
      toolShell;
  anyNixShell = toolShell;

  formatter = pkgs.nixfmt;
}
