//! `edge-auth-deploy status`: what the deployment is now, read-only. The
//! stacks and their states, the last deploy (time, tool version, commit:
//! the stack tags every deploy sets), the site's URL, the live CloudFront
//! Function against what the settings render, the key value store's
//! entries by kind and its size, the session keys, and anything out of
//! step. Never a key's value.

use std::collections::BTreeSet;

use edge_auth_core::cloudfront_function::{
    self, MAX_FUNCTION_BYTES, MAX_STORE_BYTES, REVOCATION_PREFIX, SESSION_KEY_PREFIX,
};
use serde_json::{Value, json};

use super::{Outcome, failed, load_settings, now_seconds};
use crate::aws_status::{self, StackState};
use crate::cli::StatusArgs;
use crate::plan::{EDGE_REGION, Plan, Step, utc};
use crate::release::{COMMIT_TAG, VERSION_TAG};
use crate::settings::{Authorizer, Settings};
use crate::{aws, package};
use aws_sdk_cloudfront::types::FunctionStage;

pub async fn main(args: &StatusArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    let first = aws::sdk_config(EDGE_REGION, None).await;
    aws::check_credentials(&first).await.map_err(failed)?;
    let report = gather(&settings).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(failed)?);
    } else {
        print!("{}", text(&report));
    }
    Ok(())
}

/// The stacks these settings deploy, in the plan's order, then those an
/// earlier deployment with other settings may have left: (stack, region,
/// what it is, whether these settings deploy it).
fn stacks_of(settings: &Settings) -> Vec<(String, String, String, bool)> {
    let plan = Plan::new(settings, "dist".as_ref(), "w".as_ref());
    let mut seen = BTreeSet::new();
    let mut stacks = Vec::new();
    // A site table's stacks, by their prefixes (a site's name may end in
    // any of the words below).
    let table_role = |stack: &str| {
        if let Some(site) = stack.strip_prefix(&settings.site_stack("")) {
            Some(format!("site {site}: distribution and bucket"))
        } else if let Some(site) = stack.strip_prefix(&settings.grants_stack("")) {
            Some(format!("site {site}: grants to the auth endpoints"))
        } else if stack == settings.stack_name("sites-policies") {
            Some("the sites' access controls and policies".to_owned())
        } else {
            None
        }
    };
    let role = |stack: &str| {
        if !settings.sites.is_empty()
            && let Some(role) = table_role(stack)
        {
            return role;
        }
        match stack.rsplit_once('-').map_or("", |(_, r)| r) {
            "pool" => "user pool",
            "endpoints" => "auth endpoints",
            "functions" => "edge functions",
            "waf" => "rate limit (web ACL)",
            "monitoring" => "monitoring (auth functions)",
            "edge" => "monitoring (edge, dashboard)",
            "distribution" => "distribution",
            "function" => "viewer function and key value store",
            _ => "stack",
        }
        .to_owned()
    };
    for step in &plan.steps {
        if let Step::DeployStack { stack, region, .. } = step
            && seen.insert(stack.clone())
        {
            stacks.push((stack.clone(), region.clone(), role(stack), true));
        }
    }
    for (part, region) in [
        ("viewer-function", settings.regions.distribution.as_str()),
        ("edge-functions", EDGE_REGION),
        ("waf", EDGE_REGION),
        ("monitoring-edge", EDGE_REGION),
        ("monitoring", settings.regions.user_pool.as_str()),
    ] {
        let stack = settings.stack_name(part);
        if seen.insert(stack.clone()) {
            stacks.push((stack.clone(), region.into(), role(&stack), false));
        }
    }
    stacks
}

async fn gather(settings: &Settings) -> Result<Value, super::CommandError> {
    let mut out_of_step: Vec<String> = Vec::new();
    let mut stacks = Vec::new();
    let mut distribution: Option<StackState> = None;
    let mut viewer: Option<StackState> = None;
    // The distribution, or a table's first site's: where the last deploy
    // and the site's address are read.
    let first_distribution = match settings.sites.first() {
        Some(site) => settings.site_stack(&site.name),
        None => settings.stack_name("distribution"),
    };
    for (stack, region, role, expected) in stacks_of(settings) {
        let config = aws::sdk_config(&region, None).await;
        let state = aws_status::stack_state(&config, &stack)
            .await
            .map_err(failed)?;
        match (&state, expected) {
            (None, true) => out_of_step.push(format!("{stack} ({role}) is not deployed")),
            (Some(_), false) => out_of_step.push(format!(
                "{stack} ({role}) is left by an earlier deployment with other settings: `destroy` deletes it, or aws cloudformation delete-stack --region {region} --stack-name {stack}"
            )),
            (Some(s), true) if !s.status.ends_with("_COMPLETE") || s.status.contains("ROLLBACK") => {
                out_of_step.push(format!("{stack} ({role}) is {}", s.status))
            }
            _ => {}
        }
        if stack == first_distribution {
            distribution = state.clone();
        }
        if stack == settings.stack_name("viewer-function") {
            viewer = state.clone();
        }
        if state.is_none() && !expected {
            continue;
        }
        stacks.push(json!({
            "stack": stack,
            "region": region,
            "role": role,
            "status": state.as_ref().map(|s| s.status.clone()),
            "changed": state.as_ref().and_then(|s| s.changed).map(|t| utc(t.max(0) as u64)),
            "version": state.as_ref().and_then(|s| s.tags.get(VERSION_TAG).cloned()),
            "commit": state.as_ref().and_then(|s| s.tags.get(COMMIT_TAG).cloned()),
        }));
    }
    let outputs = distribution
        .as_ref()
        .map(|d| d.outputs.clone())
        .unwrap_or_default();
    let last_deploy = distribution.as_ref().map(|d| {
        json!({
            "time": d.changed.map(|t| utc(t.max(0) as u64)),
            "version": d.tags.get(VERSION_TAG),
            "commit": d.tags.get(COMMIT_TAG),
        })
    });

    let keys_config = aws::sdk_config(&settings.session_keys_region(), None).await;
    let key_set = aws::read_session_keys(&keys_config, &settings.session_keys_secret_name())
        .await
        .map_err(failed)?;
    let session_keys = key_set.as_ref().map(|set| {
        json!({
            "secret": settings.session_keys_secret_name(),
            "signing": set.signing_kid,
            "keys": set.keys.iter().map(|k| json!({
                "kid": k.kid,
                "role": if k.kid == set.signing_kid { "signing" } else if set.retire_after.contains_key(&k.kid) { "retiring" } else { "verify only" },
                "retires": set.retire_after.get(&k.kid).map(|t| utc(*t)),
            })).collect::<Vec<_>>(),
        })
    });
    if key_set.is_none() {
        out_of_step.push(format!(
            "the session key secret {} does not exist: deploy",
            settings.session_keys_secret_name()
        ));
    }

    let function = settings.authorizer == Authorizer::CloudfrontFunction;
    let mut function_report = Value::Null;
    let mut store_report = Value::Null;
    let viewer_outputs = viewer.map(|v| v.outputs).unwrap_or_default();
    if function && !viewer_outputs.is_empty() {
        let name = viewer_outputs
            .get("FunctionName")
            .cloned()
            .unwrap_or_else(|| settings.viewer_function_name());
        let edge = aws::sdk_config(EDGE_REGION, None).await;
        let rendered = package::settings_config(settings)
            .map(|c| cloudfront_function::render(&c))
            .map_err(failed)?;
        let staged = aws_status::viewer_function(&edge, &name, FunctionStage::Development)
            .await
            .map_err(failed)?;
        function_report = match aws_status::viewer_function(&edge, &name, FunctionStage::Live)
            .await
            .map_err(failed)?
        {
            None => {
                out_of_step.push(format!("the CloudFront Function {name} is not there"));
                json!({"name": name, "present": false})
            }
            Some(live) => {
                let in_step = live.code == rendered;
                let unpublished = staged.as_ref().is_some_and(|s| s.code != live.code);
                if unpublished {
                    out_of_step.push(format!(
                        "{name}'s DEVELOPMENT stage holds code LIVE does not run: a deploy stopped at CloudFront's test of it? Deploy again to see why"
                    ));
                }
                if !in_step {
                    out_of_step.push(format!(
                        "the live function {name} differs from what these settings render ({} bytes live, {} rendered): deploy to bring it in step",
                        live.code.len(),
                        rendered.len()
                    ));
                }
                json!({
                    "name": name,
                    "present": true,
                    "stage": live.stage,
                    "etag": live.etag,
                    "bytes": live.code.len(),
                    "limit": MAX_FUNCTION_BYTES,
                    "in_step": in_step,
                    "unpublished_change": unpublished,
                })
            }
        };
        if let Some(arn) = viewer_outputs.get("KeyValueStoreArn") {
            let config = aws::sdk_config(&settings.regions.distribution, None).await;
            let store = aws_status::store_summary(&aws::key_value_store(&config), arn)
                .await
                .map_err(failed)?;
            let now = now_seconds();
            // A revocation is in force while a session it refuses could
            // still be valid.
            let horizon = now
                .saturating_sub(settings.longest_session_seconds() + settings.clock_skew_seconds);
            let in_force = store.revoked_at.values().filter(|t| **t >= horizon).count();
            let store_keys: BTreeSet<String> = store
                .names
                .iter()
                .filter_map(|n| n.strip_prefix(SESSION_KEY_PREFIX).map(str::to_owned))
                .collect();
            if let Some(set) = &key_set {
                let wanted: BTreeSet<String> = set
                    .keys
                    .iter()
                    .filter(|k| set.retire_after.get(&k.kid).is_none_or(|t| *t > now))
                    .map(|k| k.kid.clone())
                    .collect();
                if !wanted.is_subset(&store_keys) {
                    out_of_step.push(format!(
                        "the key value store lacks session keys of the set ({}): deploy",
                        wanted
                            .difference(&store_keys)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            store_report = json!({
                "arn": arn,
                "entries": store.items,
                "bytes": store.bytes,
                "limit": MAX_STORE_BYTES,
                "session_keys": store_keys,
                "revocations": store.revoked_at.len(),
                "revocations_in_force": in_force,
                "other": store.names.iter().filter(|n| !n.starts_with(SESSION_KEY_PREFIX) && !n.starts_with(REVOCATION_PREFIX)).count(),
            });
        }
    }
    Ok(json!({
        "application": settings.application,
        "environment": settings.environment,
        "site": outputs.get("SiteUrl").cloned().or_else(|| settings.site_url()),
        "stacks": stacks,
        "last_deploy": last_deploy,
        "function": function_report,
        "key_value_store": store_report,
        "session_keys": session_keys,
        "out_of_step": out_of_step,
    }))
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The report as people read it.
fn text(report: &Value) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}: {}",
        show(&report["application"]),
        show(&report["environment"]),
        show(&report["site"])
    );
    let _ = writeln!(out, "stacks:");
    for s in report["stacks"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {:<40} {:<14} {:<20} {:<24} {} {}",
            show(&s["stack"]),
            show(&s["region"]),
            show(&s["status"]),
            show(&s["changed"]),
            show(&s["version"]),
            show(&s["commit"])
        );
    }
    let d = &report["last_deploy"];
    if !d.is_null() {
        let _ = writeln!(
            out,
            "last deploy: {} by edge-auth-deploy {} from commit {}",
            show(&d["time"]),
            show(&d["version"]),
            show(&d["commit"])
        );
    }
    let f = &report["function"];
    if f["present"] == true {
        let _ = writeln!(
            out,
            "function: {} ({}, ETag {}): {} of {} bytes; {}",
            show(&f["name"]),
            show(&f["stage"]),
            show(&f["etag"]),
            f["bytes"],
            f["limit"],
            if f["in_step"] == true {
                "what these settings render"
            } else {
                "NOT what these settings render"
            }
        );
    }
    let k = &report["key_value_store"];
    if !k.is_null() {
        let _ = writeln!(
            out,
            "key value store: {} entries, {} of {} bytes: session keys {}; revocations {} ({} in force); other {}",
            k["entries"],
            k["bytes"],
            k["limit"],
            k["session_keys"].as_array().map_or(String::new(), |a| a
                .iter()
                .map(show)
                .collect::<Vec<_>>()
                .join(", ")),
            k["revocations"],
            k["revocations_in_force"],
            k["other"]
        );
    }
    let keys = &report["session_keys"];
    if !keys.is_null() {
        let list: Vec<String> = keys["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|key| match &key["retires"] {
                Value::Null => format!("{} ({})", show(&key["kid"]), show(&key["role"])),
                t => format!(
                    "{} ({}, verifies nothing after {})",
                    show(&key["kid"]),
                    show(&key["role"]),
                    show(t)
                ),
            })
            .collect();
        let _ = writeln!(
            out,
            "session keys ({}): {}",
            show(&keys["secret"]),
            list.join(", ")
        );
    }
    match report["out_of_step"].as_array() {
        Some(list) if !list.is_empty() => {
            let _ = writeln!(out, "out of step:");
            for line in list {
                let _ = writeln!(out, "  - {}", show(line));
            }
        }
        _ => {
            let _ = writeln!(
                out,
                "in step: everything these settings deploy is there, as they say"
            );
        }
    }
    out
}
