//! The user's groups from a provider's ID token, in the shapes real
//! providers send them (`provider.groups_claim`, docs/config.md):
//!
//! - a JSON array of strings (Cognito's `cognito:groups`, Okta, Keycloak,
//!   oidc-provider);
//! - a string: space- or comma-separated names (a claim some providers
//!   fill from a directory attribute), or a list as Cognito writes a
//!   federated provider's multi-valued attribute into a user pool
//!   attribute, `[a, b]`, or a JSON array encoded in a string;
//! - a claim nested in an object, named by a dotted path
//!   (`realm_access.roles`, Keycloak's realm roles) when no claim has the
//!   whole name;
//! - Entra ID's group object ids, turned into names by
//!   `provider.group_names` (an id without a name stays as it is, and
//!   matches no rule unless a rule names the id).
//!
//! Anything else is refused with what was found, never read as "no
//! groups": a sign-in whose groups cannot be read would otherwise open
//! less than it should with no word why. Entra ID leaves the claim out for
//! a user in more groups than a token holds (200) and says so in
//! `_claim_names`: refused too, with the way out.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// At most this many groups are read from one token.
pub const MAX_GROUPS: usize = 1000;

/// Why a token's groups cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupsError {
    #[error(
        "the groups claim `{claim}` is {found}, not a list of names (an array of strings, or a string of names)"
    )]
    WrongType { claim: String, found: String },
    #[error(
        "the provider left the groups claim `{claim}` out: the user is in more groups than its tokens carry (Entra ID's group overage); send only the groups the rules name (Entra: groups assigned to the application, or app roles)"
    )]
    Overage { claim: String },
    #[error("the groups claim `{claim}` names more than {MAX_GROUPS} groups")]
    TooMany { claim: String },
}

/// The groups `claims` carry under `claim`, each id that `names` knows
/// turned into its name.
pub fn read_groups(
    claims: &Map<String, Value>,
    claim: &str,
    names: &BTreeMap<String, String>,
) -> Result<Vec<String>, GroupsError> {
    let wrong = |found: &str| GroupsError::WrongType {
        claim: claim.to_owned(),
        found: found.to_owned(),
    };
    let Some(value) = lookup(claims, claim) else {
        let overage = claims
            .get("_claim_names")
            .and_then(Value::as_object)
            .is_some_and(|n| n.contains_key(claim));
        return if overage {
            Err(GroupsError::Overage {
                claim: claim.to_owned(),
            })
        } else {
            Ok(Vec::new())
        };
    };
    let groups: Vec<String> = match value {
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| wrong("an array with an item that is not a string"))?,
        Value::String(text) => from_string(text)
            .ok_or_else(|| wrong("a string that opens a JSON array it does not close"))?,
        Value::Null => Vec::new(),
        Value::Bool(_) => return Err(wrong("a boolean")),
        Value::Number(_) => return Err(wrong("a number")),
        Value::Object(_) => return Err(wrong("an object")),
    };
    if groups.len() > MAX_GROUPS {
        return Err(GroupsError::TooMany {
            claim: claim.to_owned(),
        });
    }
    Ok(groups
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(|g| names.get(&g).cloned().unwrap_or(g))
        .collect())
}

/// The claim by its whole name, else by its dotted path through objects.
fn lookup<'c>(claims: &'c Map<String, Value>, claim: &str) -> Option<&'c Value> {
    if let Some(value) = claims.get(claim) {
        return Some(value);
    }
    let mut parts = claim.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// Names from a string: a JSON array of strings, Cognito's `[a, b]`, or
/// names separated by commas or white space. `None`: a `[` that starts a
/// JSON array which does not parse as one of strings and is not Cognito's
/// form either (a `"` inside).
fn from_string(text: &str) -> Option<Vec<String>> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
            return Some(list);
        }
        if inner.contains('"') {
            return None;
        }
        return Some(split(inner));
    }
    Some(split(text))
}

fn split(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(claims: Value, claim: &str) -> Result<Vec<String>, GroupsError> {
        let names: BTreeMap<String, String> = [(
            "8d1f5f0e-0000-4000-8000-00000000a0a0".to_owned(),
            "admins".to_owned(),
        )]
        .into();
        read_groups(claims.as_object().unwrap(), claim, &names)
    }

    #[test]
    fn the_shapes_providers_send_read_as_names() {
        for (claims, claim, groups) in [
            (
                json!({"groups": ["admins", "readers"]}),
                "groups",
                vec!["admins", "readers"],
            ),
            (
                json!({"groups": "admins readers"}),
                "groups",
                vec!["admins", "readers"],
            ),
            (
                json!({"groups": "admins,readers"}),
                "groups",
                vec!["admins", "readers"],
            ),
            (
                json!({"groups": " admins , readers\t"}),
                "groups",
                vec!["admins", "readers"],
            ),
            // Cognito's form of a federated provider's multi-valued attribute.
            (
                json!({"custom:groups": "[admins, readers]"}),
                "custom:groups",
                vec!["admins", "readers"],
            ),
            (
                json!({"custom:groups": "[\"admins\",\"readers\"]"}),
                "custom:groups",
                vec!["admins", "readers"],
            ),
            (json!({"custom:groups": "[]"}), "custom:groups", vec![]),
            // Keycloak's realm roles, by a dotted path.
            (
                json!({"realm_access": {"roles": ["admins"]}}),
                "realm_access.roles",
                vec!["admins"],
            ),
            // A claim whose own name has a dot wins over the path.
            (json!({"a.b": ["x"], "a": {"b": ["y"]}}), "a.b", vec!["x"]),
            // Entra ID's object ids, named by `group_names`; an unknown id stays.
            (
                json!({"groups": ["8d1f5f0e-0000-4000-8000-00000000a0a0", "0000-unknown"]}),
                "groups",
                vec!["admins", "0000-unknown"],
            ),
            // Absent, or null: no groups.
            (json!({}), "groups", vec![]),
            (json!({"groups": null}), "groups", vec![]),
            (json!({"realm_access": {}}), "realm_access.roles", vec![]),
            (json!({"groups": ["", "admins"]}), "groups", vec!["admins"]),
        ] {
            assert_eq!(read(claims.clone(), claim).unwrap(), groups, "{claims}");
        }
    }

    #[test]
    fn a_claim_of_another_shape_is_refused_with_what_was_found() {
        for (claims, found) in [
            (json!({"groups": 7}), "a number"),
            (json!({"groups": true}), "a boolean"),
            (json!({"groups": {"admins": true}}), "an object"),
            (
                json!({"groups": ["admins", 7]}),
                "an array with an item that is not a string",
            ),
            (
                json!({"groups": ["admins", ["x"]]}),
                "an array with an item that is not a string",
            ),
            (
                json!({"groups": "[\"admins\", 7]"}),
                "a string that opens a JSON array",
            ),
        ] {
            let error = read(claims.clone(), "groups").unwrap_err().to_string();
            assert!(
                error.contains(found) && error.contains("`groups`"),
                "{claims}: {error}"
            );
        }
        let overage = json!({"_claim_names": {"groups": "src1"}, "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/"}}});
        let error = read(overage, "groups").unwrap_err();
        assert!(matches!(error, GroupsError::Overage { .. }), "{error}");
        assert!(error.to_string().contains("app roles"));
        let many: Vec<String> = (0..=MAX_GROUPS).map(|i| format!("g{i}")).collect();
        assert!(matches!(
            read(json!({"groups": many}), "groups"),
            Err(GroupsError::TooMany { .. })
        ));
    }
}
