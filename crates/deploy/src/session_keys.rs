//! The deployment's session keys: generated here (256 bits from the
//! operating system), kept in Secrets Manager beside the client secret as
//! `<app>/<env>/session-keys`, read by the signers (signin, refresh) at
//! start and every few minutes, and written into every verifier's
//! `config.json`.
//!
//! A rotation never signs anyone out, because every verifier holds a key
//! before it signs and after the last session it signed has expired:
//! 1. a new key joins the set (not signing) and every package is deployed
//!    with the set, so every verifier knows it;
//! 2. it becomes the signing key in the secret; signers pick it up within
//!    `SIGNER_MAX_AGE`;
//! 3. the old key is marked to retire after the longest session plus that
//!    delay, and the first deploy or rotation after then drops it from the
//!    set and from every verifier.

use edge_auth_core::Entropy;
use edge_auth_core::session::{SessionKeySet, new_session_key};
use edge_auth_provider::keys::SIGNER_MAX_AGE;

/// A key id that sorts by creation time: `k` and the second it was made.
fn next_kid(set: Option<&SessionKeySet>, now: u64) -> String {
    let mut kid = format!("k{now}");
    let mut n = 0;
    while set.is_some_and(|s| s.keys.iter().any(|k| k.kid == kid)) {
        n += 1;
        kid = format!("k{now}-{n}");
    }
    kid
}

/// The first key set of a deployment: one key, signing.
pub fn new_set(now: u64, entropy: &mut dyn Entropy) -> SessionKeySet {
    let kid = next_kid(None, now);
    SessionKeySet {
        keys: vec![new_session_key(&kid, entropy)],
        signing_kid: kid,
        retire_after: Default::default(),
        revoked: Default::default(),
    }
}

/// Drops the keys whose sessions have all expired; returns their ids.
pub fn drop_retired(set: &mut SessionKeySet, now: u64) -> Vec<String> {
    let due: Vec<String> = set
        .retire_after
        .iter()
        .filter(|(kid, after)| **after <= now && **kid != set.signing_kid)
        .map(|(kid, _)| kid.clone())
        .collect();
    for kid in &due {
        set.retire_after.remove(kid);
    }
    set.keys.retain(|k| !due.contains(&k.kid));
    // A marker for a key that is no longer there means nothing.
    let kids: Vec<String> = set.keys.iter().map(|k| k.kid.clone()).collect();
    set.retire_after.retain(|kid, _| kids.contains(kid));
    due
}

/// Phase 1: a new key joins the set without signing. Returns its id.
pub fn add_next(set: &mut SessionKeySet, now: u64, entropy: &mut dyn Entropy) -> String {
    let kid = next_kid(Some(set), now);
    set.keys.push(new_session_key(&kid, entropy));
    kid
}

/// Phase 2: `kid` signs; the key that signed before retires after the
/// longest session and the signers' re-read delay.
pub fn promote(set: &mut SessionKeySet, kid: &str, now: u64, longest_session_seconds: u64) {
    let previous = std::mem::replace(&mut set.signing_kid, kid.to_owned());
    if previous != kid {
        set.retire_after.insert(
            previous,
            now + longest_session_seconds + SIGNER_MAX_AGE.as_secs(),
        );
    }
}

/// `rotate-session-key --now`, for a key that has leaked: the set becomes
/// one new key, signing at once, and every other key leaves it (and, with
/// the deploy that follows, the key value store and every verifier).
/// Everyone is signed out. Returns the new key's id and the ids dropped.
pub fn replace_all(
    set: &mut SessionKeySet,
    now: u64,
    entropy: &mut dyn Entropy,
) -> (String, Vec<String>) {
    let kid = next_kid(Some(set), now);
    let dropped = set.keys.iter().map(|k| k.kid.clone()).collect();
    *set = SessionKeySet {
        keys: vec![new_session_key(&kid, entropy)],
        signing_kid: kid.clone(),
        retire_after: Default::default(),
        // A user revoked stays revoked across a new key.
        revoked: std::mem::take(&mut set.revoked),
    };
    (kid, dropped)
}

/// The ids, never the keys: what the dry run and the log may show.
pub fn describe(set: &SessionKeySet) -> String {
    set.keys
        .iter()
        .map(|k| {
            let role = if k.kid == set.signing_kid {
                " (signing)".to_owned()
            } else if let Some(after) = set.retire_after.get(&k.kid) {
                format!(
                    " (retiring: verifies nothing after {}, dropped at the first deploy after it)",
                    crate::plan::utc(*after)
                )
            } else {
                " (verify only: signs after the rotation)".to_owned()
            };
            format!("{}{role}", k.kid)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The session key set for this run: created (one new key) when the secret
/// does not exist, with the keys whose sessions have all expired dropped.
pub async fn ensure(
    config: &aws_config::SdkConfig,
    settings: &crate::settings::Settings,
    name: &str,
    now: u64,
) -> Result<SessionKeySet, crate::aws::AwsError> {
    match crate::aws::read_session_keys(config, name).await? {
        None => {
            let set = new_set(now, &mut edge_auth_core::SystemEntropy);
            crate::aws::create_session_keys(config, name, &set, &settings.tags()).await?;
            println!("    created {name}: {}", describe(&set));
            Ok(set)
        }
        Some(mut set) => {
            let dropped = drop_retired(&mut set, now);
            if !dropped.is_empty() {
                crate::aws::put_session_keys(config, name, &set).await?;
                println!(
                    "    dropped {} (every session they signed has expired)",
                    dropped.join(", ")
                );
            }
            println!("    {name}: {}", describe(&set));
            Ok(set)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edge_auth_core::session::{SessionClaims, SessionVerifier};

    struct Counter(u8);
    impl Entropy for Counter {
        fn fill(&mut self, dest: &mut [u8]) {
            self.0 += 1;
            dest.fill(self.0);
        }
    }

    fn claims(now: u64) -> SessionClaims {
        SessionClaims {
            sub: "u".into(),
            name: "n".into(),
            groups: vec![],
            sid: "s".into(),
            iat: now,
            exp: now + 3600,
            auth_time: None,
            idp_auth_time: None,
            mfa: None,
            site: None,
        }
    }

    /// A leaked key leaves the set at once: only the new key is left, it
    /// signs, and nothing the old keys signed verifies with the new set.
    #[test]
    fn replacing_every_key_leaves_only_the_new_one() {
        let t0 = 1_800_000_000;
        let mut set = new_set(t0, &mut Counter(0));
        let next = add_next(&mut set, t0 + 10, &mut Counter(5));
        promote(&mut set, &next, t0 + 20, 3600);
        let old = set.signer().unwrap().sign(&claims(t0 + 30));
        let (kid, dropped) = replace_all(&mut set, t0 + 40, &mut Counter(9));
        assert_eq!(dropped.len(), 2);
        assert_eq!(set.keys.len(), 1);
        assert_eq!(
            (set.signing_kid.as_str(), set.keys[0].kid.as_str()),
            (kid.as_str(), kid.as_str())
        );
        assert!(set.retire_after.is_empty());
        assert!(!dropped.contains(&kid));
        let verifier = SessionVerifier::new(&set.keys, 0).unwrap();
        assert!(verifier.verify(&old, t0 + 50).is_err());
        let fresh = set.signer().unwrap().sign(&claims(t0 + 50));
        assert!(verifier.verify(&fresh, t0 + 60).is_ok());
    }

    /// Through a whole rotation, a session signed at any phase verifies
    /// with the key set the verifiers hold at every later phase until it
    /// expires.
    #[test]
    fn a_rotation_signs_nobody_out() {
        let t0 = 1_800_000_000;
        let mut set = new_set(t0, &mut Counter(0));
        let before = set.signer().unwrap().sign(&claims(t0));
        let next = add_next(&mut set, t0 + 10, &mut Counter(5));
        // Phase 1: verifiers deployed with both keys; the old one still signs.
        let verifiers = SessionVerifier::new(&set.keys, 0).unwrap();
        assert!(verifiers.verify(&before, t0 + 20).is_ok());
        promote(&mut set, &next, t0 + 30, 3600);
        let after = set.signer().unwrap().sign(&claims(t0 + 40));
        assert_eq!(set.signer().unwrap().kid(), next);
        assert!(verifiers.verify(&after, t0 + 50).is_ok());
        assert!(verifiers.verify(&before, t0 + 50).is_ok());
        // Too early to drop the old key: nothing is dropped.
        assert!(drop_retired(&mut set, t0 + 3600).is_empty());
        assert_eq!(set.keys.len(), 2);
        // After the longest session and the signers' re-read delay it goes.
        let dropped = drop_retired(&mut set, t0 + 30 + 3600 + SIGNER_MAX_AGE.as_secs());
        assert_eq!(dropped.len(), 1);
        assert_eq!(set.keys.len(), 1);
        assert!(set.retire_after.is_empty());
        let verifiers = SessionVerifier::new(&set.keys, 0).unwrap();
        assert!(verifiers.verify(&after, t0 + 3000).is_ok());
        assert!(describe(&set).contains("(signing)"));
        assert!(!describe(&set).contains(&set.keys[0].key), "never a key");
    }
}
