{
  description = "edge-auth: sign-in in front of static sites on Amazon CloudFront, decided in Rust at the edge";

  inputs = {
    # NixOS 26.05, the stable release (25.11 reached its end of life in
    # mid-2026). crane's master, locked, requires nixpkgs 26.05 or later (it
    # dropped 25.11 on 2026-07-04) and Nix 2.31.2 or later. The -small
    # channel is the release branch once its smaller test set passes; the
    # lock follows NixOS's own infrastructure's pin of it.
    nixpkgs.url = "https://channels.nixos.org/nixos-26.05-small/nixexprs.tar.zst";
    crane.url = "github:ipetkov/crane";
    rust-overlay = {
      url = "github:oxalica/rust-overlay";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      nixpkgs,
      crane,
      rust-overlay,
      ...
    }:
    let
      # Every host builds the same x86_64 Linux edge artifacts (cargo-zigbuild).
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      perSystem =
        f:
        nixpkgs.lib.genAttrs systems (
          system:
          f (
            import ./nix/edge-auth.nix {
              inherit
                nixpkgs
                crane
                rust-overlay
                system
                ;
              src = ./.;
            }
          )
        );
    in
    {
      packages = perSystem (project: project.packages);
      checks = perSystem (project: project.checks);
      apps = perSystem (project: project.apps);
      devShells = perSystem (project: {
        default = project.devShell;
        any-nix = project.anyNixShell;
      });
      formatter = perSystem (project: project.formatter);
    };
}
