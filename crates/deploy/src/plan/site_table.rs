//! A site table's own steps (`[[sites]]`): the access controls and
//! policies every site shares, each site's distribution and grants, each
//! site's content, and the removal of sites no longer in the settings.
//! The rest of the plan (pool, keys, function, store, auth endpoints) is
//! the one-site plan's, given every site.

use std::path::Path;

use super::{Step, Value, output};
use crate::settings::Settings;

/// What a site table's policies stack puts out and each site's stack takes
/// (the distribution template's parameters and outputs of these names).
pub const SHARED_POLICY_OUTPUTS: [&str; 4] = [
    "SiteAccessControlId",
    "FunctionUrlAccessControlId",
    "SecurityHeadersPolicyId",
    "AuthSecurityHeadersPolicyId",
];

/// The policies stack (`Part=policies`), then for each site its
/// distribution stack (`Part=site`, the one-site `parameters` with the
/// site's name, domain, certificate and zone and the shared ids) and its
/// grants stack in the auth functions' region (`auth`'s function ARNs, the
/// site's distribution).
pub fn distribution_steps(
    settings: &Settings,
    templates: &Path,
    parameters: &[(String, Value)],
    auth: &str,
    tags: &[(String, String)],
) -> Vec<Step> {
    let known = |v: &str| Value::Known(v.to_owned());
    let distribution_template = templates.join("distribution/template.yaml");
    // The access controls and policies every site shares (the account's
    // quotas on them would otherwise bound the table).
    let policies = settings.stack_name("sites-policies");
    let mut shared = parameters.to_vec();
    set_parameter(&mut shared, "Part", known("policies"));
    let mut steps = vec![Step::DeployStack {
        stack: policies.clone(),
        template: distribution_template.clone(),
        region: settings.regions.distribution.clone(),
        parameters: shared,
        tags: tags.to_vec(),
    }];
    // Each site's distribution and, with `[sites.preview]`, its previews'
    // (a wildcard host `*.<preview domain>`, its own bucket; the same
    // `X-Edge-Auth-Site`, so the auth functions answer as the site).
    let hosts = settings.sites.iter().flat_map(|entry| {
        let own = (
            entry.name.clone(),
            entry.domain.clone(),
            entry.certificate_arn.clone().unwrap_or_default(),
            entry.hosted_zone_id.clone().unwrap_or_default(),
        );
        let preview = entry
            .preview
            .as_ref()
            .zip(entry.preview_name())
            .map(|(p, name)| {
                (
                    name,
                    format!("*.{}", p.domain),
                    p.certificate_arn.clone(),
                    p.hosted_zone_id.clone().unwrap_or_default(),
                )
            });
        std::iter::once((entry, own)).chain(preview.map(|p| (entry, p)))
    });
    for (entry, (stack_name, domain, certificate, zone)) in hosts {
        let stack = settings.site_stack(&stack_name);
        let mut own = parameters.to_vec();
        set_parameter(&mut own, "Part", known("site"));
        for key in SHARED_POLICY_OUTPUTS {
            set_parameter(&mut own, key, output(&policies, key));
        }
        set_parameter(&mut own, "SiteName", known(&entry.name));
        set_parameter(&mut own, "DomainName", known(&domain));
        set_parameter(&mut own, "CertificateArn", known(&certificate));
        set_parameter(&mut own, "HostedZoneId", known(&zone));
        steps.push(Step::DeployStack {
            stack: stack.clone(),
            template: distribution_template.clone(),
            region: settings.regions.distribution.clone(),
            parameters: own,
            tags: tags.to_vec(),
        });
        let mut grants = vec![
            ("AppName".to_owned(), known(&settings.application)),
            ("Environment".to_owned(), known(&settings.environment)),
            ("SiteName".to_owned(), known(&stack_name)),
            (
                "DistributionArn".to_owned(),
                output(&stack, "DistributionArn"),
            ),
        ];
        for key in [
            "SigninFunctionArn",
            "RefreshFunctionArn",
            "SignoutFunctionArn",
        ] {
            grants.push((key.into(), output(auth, key)));
        }
        steps.push(Step::DeployStack {
            stack: settings.grants_stack(&stack_name),
            template: templates.join("site-grants/template.yaml"),
            region: settings.regions.user_pool.clone(),
            parameters: grants,
            tags: tags.to_vec(),
        });
    }
    steps
}

/// Each site's content to its bucket and the invalidation after it, then
/// the sites no longer in the settings removed (after everything else: the
/// other sites serve throughout).
pub fn content_steps(settings: &Settings) -> Vec<Step> {
    let mut steps = Vec::new();
    for entry in &settings.sites {
        let stack = settings.site_stack(&entry.name);
        steps.push(Step::SyncSite {
            bucket: output(&stack, "BucketName"),
            directory: entry.content_dir(&settings.dir),
            region: settings.regions.distribution.clone(),
        });
        steps.push(Step::Invalidate {
            distribution: output(&stack, "DistributionId"),
        });
    }
    steps.push(Step::RemoveSites {
        prefix: settings.site_stack(""),
        grants_prefix: settings.grants_stack(""),
        keep: settings.site_stack_names(),
        region: settings.regions.distribution.clone(),
        grants_region: settings.regions.user_pool.clone(),
    });
    steps
}

/// Sets `key` among `parameters` (each template parameter is passed once).
fn set_parameter(parameters: &mut [(String, Value)], key: &str, value: Value) {
    if let Some(slot) = parameters.iter_mut().find(|(k, _)| k == key) {
        slot.1 = value;
    }
}
