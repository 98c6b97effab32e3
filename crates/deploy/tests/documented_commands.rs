//! Every `edge-auth-deploy` command line the documentation shows parses
//! with the tool's own command line (`cli::parse_from`): a renamed command
//! or option fails here, not in a reader's terminal.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The documents users read, and the settings files' comments.
fn documents() -> Vec<PathBuf> {
    let root = root();
    let mut files = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    for dir in ["docs", "deploy"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("md" | "toml")))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

/// The lines a reader would copy: a Markdown file's fenced code blocks,
/// a settings file's comments.
fn command_lines(file: &Path, text: &str) -> Vec<String> {
    if file.extension().and_then(|e| e.to_str()) != Some("md") {
        return text.lines().map(str::to_owned).collect();
    }
    let mut inside = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if inside {
            lines.push(line.to_owned());
        }
    }
    lines
}

/// The arguments after the program in a documented line: `edge-auth-deploy
/// ARGS`, `cargo run … -p edge-auth-deploy -- ARGS`, `nix run .#… -- ARGS`
/// is left out (its program adds its own). Optional parts in brackets are
/// taken as given; a trailing comment or redirection is dropped.
fn invocations(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches(['#', ' ', '$']);
        let rest = if let Some(at) = line.find("-p edge-auth-deploy -- ") {
            &line[at + "-p edge-auth-deploy -- ".len()..]
        } else if let Some(rest) = line.strip_prefix("edge-auth-deploy ") {
            rest
        } else {
            continue;
        };
        let rest = rest.split(['#', '(', '>']).next().unwrap_or_default();
        let args = rest.replace(['[', ']'], " ");
        let args = args.split(" | ").next().unwrap_or_default().trim();
        found.push(args.to_owned());
    }
    found
}

#[test]
fn every_documented_command_line_parses() {
    let mut checked = Vec::new();
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        for args in invocations(&command_lines(&file, &text).join("\n")) {
            let argv = std::iter::once("edge-auth-deploy").chain(args.split_whitespace());
            if let Err(e) = edge_auth_deploy::cli::parse_from(argv) {
                panic!("{}: `edge-auth-deploy {args}`:\n{e}", file.display());
            }
            checked.push(args);
        }
    }
    // The README's deploy, dry run, user add, revoke, rotation and
    // teardown lines at least.
    for command in [
        "--dry-run",
        "user add",
        "revoke",
        "rotate-session-key",
        "destroy",
    ] {
        assert!(
            checked.iter().any(|a| a.contains(command)),
            "no documented line with {command}: {checked:#?}"
        );
    }
}

/// README's table of commands names every command the tool has.
#[test]
fn readme_names_every_command() {
    use clap::CommandFactory;
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut command = edge_auth_deploy::cli::Cli::command();
    command.build();
    for sub in command.get_subcommands() {
        let name = sub.get_name();
        if name == "help" {
            continue;
        }
        let row = match sub.get_subcommands().next() {
            Some(inner) => format!("| `{name} {}", inner.get_name()),
            None => format!("| `{name}"),
        };
        assert!(
            readme.contains(&row),
            "README's command table has no row {row}`"
        );
    }
}

#[test]
fn a_renamed_option_would_be_caught() {
    let argv = [
        "edge-auth-deploy",
        "revoke",
        "--settings",
        "s.toml",
        "--sub",
        "x",
    ];
    assert!(edge_auth_deploy::cli::parse_from(argv).is_err());
    assert_eq!(
        invocations(
            "   cargo run -p edge-auth-deploy -- revoke --settings s --user SUB [--dry-run]   # x"
        ),
        ["revoke --settings s --user SUB  --dry-run"]
    );
}
