{
  description = "edge-auth: sign-in in front of static sites on Amazon CloudFront, decided in Rust at the edge";

  inputs = {
    # A NixOS release that crane supports.
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";
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
      });
      formatter = perSystem (project: project.formatter);
    };
}
