//! The `sam deploy` command lines. One function builds them: the dry run
//! prints them and the run executes them, so what a user copies from the
//! dry run is what the tool would have run.
//!
//! SAM CLI (`samcli/cli/types.py`, `CfnParameterOverridesType`) matches each
//! `--parameter-overrides` word against `Key=Value` where an unquoted value
//! must not be empty and may not contain spaces or quotes; a value in double
//! quotes may hold anything but an unescaped `"`, and SAM then strips the
//! quotes and turns `\"`, `\'` and `\ ` into the character. So every value is
//! passed double-quoted with `"` escaped, and a value with a backslash is
//! refused: SAM has no way to pass `\"` or `\ ` through unchanged.

use std::path::Path;

/// The program the tool runs (looked up on `PATH`).
pub const SAM: &str = "sam";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommandError {
    #[error(
        "parameter {key}: its value has a backslash, which SAM CLI's --parameter-overrides cannot pass unchanged"
    )]
    Backslash { key: String },
    #[error("parameter {key}: its value has a control character")]
    Control { key: String },
    #[error("tag {key}: SAM CLI's --tags takes no spaces, quotes or `=` in tag keys and values")]
    Tag { key: String },
}

/// One `--parameter-overrides` word: `Key="value"`.
pub fn parameter_override(key: &str, value: &str) -> Result<String, CommandError> {
    if value.contains('\\') {
        return Err(CommandError::Backslash { key: key.into() });
    }
    if value.chars().any(char::is_control) {
        return Err(CommandError::Control { key: key.into() });
    }
    Ok(format!("{key}=\"{}\"", value.replace('"', "\\\"")))
}

/// The argument list of `sam deploy` for one stack (the program name first).
///
/// Every template parameter is expected in `parameters`: SAM sends
/// `UsePreviousValue` to CloudFormation for any it is not given
/// (`deploy_context.py`, `merge_parameters`), which would keep a setting the
/// user removed. The tool reads no samconfig.toml (it names no
/// `--config-env`), so the tags go on the command line too.
pub fn deploy_command(
    template: &Path,
    stack: &str,
    region: &str,
    parameters: &[(String, String)],
    tags: &[(String, String)],
) -> Result<Vec<String>, CommandError> {
    let mut argv: Vec<String> = [SAM, "deploy", "--template-file"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    argv.push(template.display().to_string());
    for arg in [
        "--stack-name",
        stack,
        "--region",
        region,
        "--capabilities",
        "CAPABILITY_IAM",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--resolve-s3",
    ] {
        argv.push(arg.into());
    }
    if !parameters.is_empty() {
        argv.push("--parameter-overrides".into());
        for (k, v) in parameters {
            argv.push(parameter_override(k, v)?);
        }
    }
    if !tags.is_empty() {
        argv.push("--tags".into());
        for (k, v) in tags {
            let bad = |s: &str| {
                s.is_empty()
                    || s.contains(['=', '"', '\'', '\\'])
                    || s.contains(char::is_whitespace)
            };
            if bad(k) || bad(v) {
                return Err(CommandError::Tag { key: k.clone() });
            }
            argv.push(format!("{k}={v}"));
        }
    }
    Ok(argv)
}

/// One word as a POSIX shell reads it back: bare when it has only characters
/// no shell treats specially, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:=@%+,".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The command as a user pastes it into a shell: every word shell-quoted, a
/// line continuation before each option so that a long command stays
/// readable.
pub fn shell_line(argv: &[String]) -> String {
    let mut line = String::new();
    let mut in_list = false;
    for (i, word) in argv.iter().enumerate() {
        if word.starts_with("--") {
            in_list = matches!(word.as_str(), "--parameter-overrides" | "--tags");
            line.push_str(" \\\n    ");
        } else if i > 0 && in_list && !argv[i - 1].starts_with("--") {
            // One parameter or tag a line.
            line.push_str(" \\\n        ");
        } else if i > 0 {
            line.push(' ');
        }
        line.push_str(&shell_word(word));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_awkward_values_are_quoted() {
        assert_eq!(
            parameter_override("DistributionArn", "").unwrap(),
            "DistributionArn=\"\""
        );
        assert_eq!(
            parameter_override("A", "say \"hi\" it's").unwrap(),
            r#"A="say \"hi\" it's""#
        );
        assert!(matches!(
            parameter_override("A", r"a\b"),
            Err(CommandError::Backslash { .. })
        ));
        assert!(matches!(
            parameter_override("A", "a\nb"),
            Err(CommandError::Control { .. })
        ));
    }

    #[test]
    fn shell_words_read_back_as_themselves() {
        assert_eq!(shell_word("Key=\"\""), r#"'Key=""'"#);
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("plain-1.0/x"), "plain-1.0/x");
        assert_eq!(shell_word(""), "''");
        let words = ["sam", "deploy", "--x", "a b", "--tags", "a=1", "b=2"].map(String::from);
        assert_eq!(
            shell_line(&words),
            "sam deploy \\\n    --x 'a b' \\\n    --tags a=1 \\\n        b=2"
        );
    }

    #[test]
    fn tags_sam_would_split_are_refused() {
        let tags = [("owner".to_string(), "a b".to_string())];
        assert!(deploy_command(Path::new("t.yaml"), "s", "r", &[], &tags).is_err());
    }
}
