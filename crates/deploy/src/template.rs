//! What a template says of its parameters, read from the template itself,
//! so that a setting CloudFormation would refuse is refused before the first
//! stack changes, with the setting's name.
//!
//! The templates are YAML with CloudFormation's short tags; the `Parameters`
//! section holds only plain scalars and flow lists, which is all this
//! reader understands (anything else there is an error, not a guess).

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameter {
    pub kind: String,
    pub default: Option<String>,
    pub allowed_pattern: Option<String>,
    pub allowed_values: Option<Vec<String>>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub min_value: Option<i64>,
    pub max_value: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: parameter {parameter}: {message}")]
    Parameter {
        path: String,
        parameter: String,
        message: String,
    },
}

/// What marks the distribution template's placeholder for the CloudFront
/// Function's code (a function that answers 503, for a template deployed
/// by hand).
pub const VIEWER_FUNCTION_MARKER: &str = "// EDGE_AUTH_VIEWER_REQUEST_FUNCTION";

/// The distribution template with the rendered function `code` as its
/// `FunctionCode`: the one line `FunctionCode: "… MARKER"` becomes
/// `FunctionCode: "<code>"`, a double-quoted YAML scalar with everything
/// outside printable ASCII escaped (`yaml_quoted`).
pub fn with_viewer_function(template: &str, code: &str) -> Result<String, String> {
    let is_placeholder = |line: &str| {
        line.trim_start().starts_with("FunctionCode:") && line.contains(VIEWER_FUNCTION_MARKER)
    };
    let found = template.lines().filter(|l| is_placeholder(l)).count();
    if found != 1 {
        return Err(format!(
            "the distribution template has {found} FunctionCode placeholders ({VIEWER_FUNCTION_MARKER}); it needs exactly one"
        ));
    }
    let quoted = yaml_quoted(code);
    let mut out = String::with_capacity(template.len() + quoted.len());
    for line in template.split_inclusive('\n') {
        if is_placeholder(line) {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(&format!("{indent}FunctionCode: {quoted}\n"));
        } else {
            out.push_str(line);
        }
    }
    Ok(out)
}

/// `text` as a double-quoted YAML scalar that any YAML reader gives back
/// unchanged: `"` and `\` escaped, and every character outside printable
/// ASCII as `\uXXXX` or `\UXXXXXXXX` (YAML 1.1 readers fold
/// U+2028, U+2029 and U+0085 as line breaks, and refuse some others).
pub fn yaml_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// A YAML scalar as written in the Parameters section: plain, single- or
/// double-quoted (with the escapes the templates use: `\\`, `\"`).
fn scalar(text: &str) -> Result<String, String> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('\\') => out.push('\\'),
                    Some('"') => out.push('"'),
                    Some('/') => out.push('/'),
                    other => return Err(format!("escape \\{other:?} not understood")),
                }
            } else {
                out.push(c);
            }
        }
        Ok(out)
    } else if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        Ok(inner.replace("''", "'"))
    } else {
        Ok(text.to_owned())
    }
}

fn flow_list(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or("AllowedValues: only a flow list [a, b] is understood")?;
    // An item left empty (a trailing comma) is none; a quoted "" is one.
    inner
        .split(',')
        .filter(|item| !item.trim().is_empty())
        .map(scalar)
        .collect()
}

/// The `Parameters` section of a template, by name.
pub fn parameters_in(text: &str) -> Result<BTreeMap<String, Parameter>, String> {
    let section = text
        .split("\nParameters:\n")
        .nth(1)
        .ok_or("no Parameters section")?;
    let mut parameters = BTreeMap::new();
    let mut current: Option<(String, Parameter)> = None;
    for line in section.lines() {
        if !(line.is_empty() || line.starts_with(' ')) {
            break; // the next top-level key
        }
        if let Some(name) = line
            .strip_prefix("  ")
            .and_then(|l| l.strip_suffix(':'))
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            if let Some((n, p)) = current.take() {
                parameters.insert(n, p);
            }
            current = Some((name.to_owned(), Parameter::default()));
            continue;
        }
        let Some(property) = line.strip_prefix("    ") else {
            continue;
        };
        if property.starts_with(' ') {
            continue; // a folded Description's lines
        }
        let Some((key, value)) = property.split_once(':') else {
            continue;
        };
        let Some((name, p)) = current.as_mut() else {
            return Err(format!("{key} outside a parameter"));
        };
        let at = |e: String| format!("{name}: {key}: {e}");
        let number = |v: &str| -> Result<i64, String> {
            scalar(v)?
                .parse::<i64>()
                .map_err(|e| at(format!("{v}: {e}")))
        };
        match key {
            "Type" => p.kind = scalar(value)?,
            "Default" => p.default = Some(scalar(value).map_err(at)?),
            "AllowedPattern" => p.allowed_pattern = Some(scalar(value).map_err(at)?),
            "AllowedValues" => p.allowed_values = Some(flow_list(value).map_err(at)?),
            "MinLength" => p.min_length = Some(number(value)? as usize),
            "MaxLength" => p.max_length = Some(number(value)? as usize),
            "MinValue" => p.min_value = Some(number(value)?),
            "MaxValue" => p.max_value = Some(number(value)?),
            "Description" | "ConstraintDescription" | "NoEcho" => {}
            other => return Err(format!("{name}: property {other} not understood")),
        }
    }
    if let Some((n, p)) = current {
        parameters.insert(n, p);
    }
    Ok(parameters)
}

/// The parameters of the template at `path`.
pub fn read_parameters(path: &Path) -> Result<BTreeMap<String, Parameter>, TemplateError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| TemplateError::Read {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    parameters_in(&text).map_err(|message| TemplateError::Read {
        path: shown,
        message,
    })
}

impl Parameter {
    /// Why CloudFormation would refuse `value` for this parameter, if it
    /// would. A `CommaDelimitedList` is checked element by element, as
    /// CloudFormation does.
    pub fn refuses(&self, value: &str) -> Option<String> {
        let items: Vec<&str> = if self.kind == "CommaDelimitedList" {
            value.split(',').collect()
        } else {
            vec![value]
        };
        for item in items {
            if let Some(why) = self.refuses_one(item) {
                return Some(why);
            }
        }
        None
    }

    fn refuses_one(&self, value: &str) -> Option<String> {
        if let Some(allowed) = &self.allowed_values
            && !allowed.iter().any(|a| a == value)
        {
            return Some(format!("{value:?} is not one of {}", allowed.join(", ")));
        }
        if let Some(pattern) = &self.allowed_pattern {
            // CloudFormation matches the whole value (Java's `matches`).
            match regex::Regex::new(&format!("^(?:{pattern})$")) {
                Ok(re) if !re.is_match(value) => {
                    return Some(format!("{value:?} does not match {pattern}"));
                }
                Ok(_) => {}
                Err(e) => return Some(format!("the template's pattern {pattern}: {e}")),
            }
        }
        let chars = value.chars().count();
        if let Some(min) = self.min_length
            && chars < min
        {
            return Some(format!("{value:?} is shorter than {min} characters"));
        }
        if let Some(max) = self.max_length
            && chars > max
        {
            return Some(format!("{value:?} is longer than {max} characters"));
        }
        if self.kind == "Number" {
            let Ok(n) = value.parse::<i64>() else {
                return Some(format!("{value:?} is not a number"));
            };
            if self.min_value.is_some_and(|min| n < min)
                || self.max_value.is_some_and(|max| n > max)
            {
                return Some(format!(
                    "{n} is outside {}..={}",
                    self.min_value.map_or("".into(), |v| v.to_string()),
                    self.max_value.map_or("".into(), |v| v.to_string())
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Parameters:\n  A:\n    Type: String\n    Default: \"\"\n    AllowedPattern: \"^$|^[a-z]+\\\\.x$\"\n    Description: >-\n      folded: text\n  N:\n    Type: Number\n    MinValue: 5\n    MaxValue: 10\n  L:\n    Type: CommaDelimitedList\n    AllowedValues: [a, b]\nResources:\n  X: 1\n";

    #[test]
    fn reads_and_applies_the_constraints() {
        let p = parameters_in(&format!("\n{TEXT}")).unwrap();
        assert_eq!(p["A"].allowed_pattern.as_deref(), Some(r"^$|^[a-z]+\.x$"));
        assert_eq!(p["A"].default.as_deref(), Some(""));
        assert!(p["A"].refuses("").is_none());
        assert!(p["A"].refuses("ab.x").is_none());
        assert!(p["A"].refuses("ab.xy").is_some());
        assert!(p["N"].refuses("4").is_some());
        assert!(p["N"].refuses("7").is_none());
        assert!(p["N"].refuses("x").is_some());
        assert!(p["L"].refuses("a,b").is_none());
        assert!(p["L"].refuses("a,c").is_some());
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn the_function_code_replaces_the_placeholder_as_a_yaml_string() {
        let template = format!(
            "Resources:\n  F:\n    Properties:\n      FunctionCode: \"x {VIEWER_FUNCTION_MARKER}\"\n      AutoPublish: true\n"
        );
        let code = "import cf from 'cloudfront';\nconst a = \"<p>\\\\ \u{2028} é\";\tfunction handler(e) {}";
        let out = with_viewer_function(&template, code).unwrap();
        assert!(!out.contains(VIEWER_FUNCTION_MARKER));
        assert!(out.ends_with("      AutoPublish: true\n"));
        let line = out.lines().find(|l| l.contains("FunctionCode")).unwrap();
        let value = line.trim_start().strip_prefix("FunctionCode: ").unwrap();
        // JSON reads these escapes as YAML does (\\U aside).
        assert_eq!(serde_json::from_str::<String>(value).unwrap(), code);
        assert!(
            value.contains("\\u2028") && value.contains("\\u00E9"),
            "{value}"
        );
        assert_eq!(yaml_quoted("\u{1F600}\u{7f}"), "\"\\U0001F600\\u007F\"");
        // No placeholder, or two: refused, not guessed.
        assert!(with_viewer_function("Resources: {}\n", code).is_err());
        assert!(with_viewer_function(&format!("{template}{template}"), code).is_err());
    }

    #[test]
    fn an_unknown_property_is_an_error() {
        assert!(
            parameters_in("\nParameters:\n  A:\n    Type: String\n    Frobnicate: 1\n").is_err()
        );
    }
}
