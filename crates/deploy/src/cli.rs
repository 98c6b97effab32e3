//! The command line, declared once with clap: per-command help with
//! examples, suggestions for typos, completions, and the exit codes below.
//! `src/main.rs` parses with [`parse_from`] and hands each command to its
//! module under `commands/`; tests parse README's command lines with the
//! same function, so the documentation cannot drift from the tool.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// What the exit status means, for scripts and CI jobs that run the tool.
pub const EXIT_CODES: &str = "\
Exit status:
  0  done (a dry run: the plan was printed)
  1  a call to AWS, sam or the provider failed; what ran before it stays
     (a re-run picks up from there)
  2  refused before anything changed: the command line, the settings, a
     value the templates would refuse, or a missing package";

/// Exit status 1: something failed partway.
pub const EXIT_FAILED: u8 = 1;
/// Exit status 2: refused before anything ran.
pub const EXIT_REFUSED: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "edge-auth-deploy",
    version,
    about = "Deploy and run a sign-in in front of a static site on CloudFront",
    long_about = "Deploy and run a sign-in in front of a static site on CloudFront: the \
                  user pool, the auth endpoints, the distribution with its CloudFront \
                  Function, and the site, from one settings file.\n\n\
                  `edge-auth-deploy --settings F` (no command) is `edge-auth-deploy deploy --settings F`.",
    after_help = EXIT_CODES,
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true,
    // A later option wins, as with the first releases' parser (a wrapper's
    // defaults can be overridden by what follows them).
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy the stacks, the packages and the site, in order
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy deploy --settings deploy/prod.toml\n",
        "  edge-auth-deploy deploy --settings deploy/prod.toml --dry-run\n",
        "  edge-auth-deploy deploy --settings deploy/preview.toml --packages result/dist\n\n",
        "Each `sam deploy` line is printed before it runs; a re-run after a failure\n",
        "resumes (stacks that are done are updated in place, unchanged)."
    ))]
    Deploy(DeployArgs),
    /// Print the deploy's plan and change nothing (the same as `deploy --dry-run`)
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy plan --settings deploy/prod.toml\n",
        "  edge-auth-deploy plan --settings deploy/prod.toml --offline\n\n",
        "With credentials it reads which stacks exist (so a re-run's commands carry\n",
        "their real values) and what the site sync would upload and delete."
    ))]
    Plan(PlanArgs),
    /// Check the settings and the packages without calling AWS, or (--live)
    /// the deployed site from outside
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy check --settings deploy/prod.toml\n",
        "  edge-auth-deploy check --settings deploy/prod.toml --live\n",
        "  edge-auth-deploy check --settings deploy/prod.toml --url http://127.0.0.1:8080\n\n",
        "Without --live: exit status 0 when a deploy could start; 2 with every finding\n",
        "listed otherwise. With --live (or --url): one line a check of the site as a\n",
        "browser meets it (a protected page, a public page, an unknown auth path, the\n",
        "sign-in start, a callback with a provider error, the security headers, and\n",
        "with --live direct requests to the bucket and the function URLs); exit\n",
        "status 1 on any failure."
    ))]
    Check(CheckArgs),
    /// Show what the deployment is now: stacks, last deploy, function, store, keys (read-only)
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy status --settings deploy/prod.toml\n",
        "  edge-auth-deploy status --settings deploy/prod.toml --json\n\n",
        "Never shows a key's value. Lists anything out of step: a stack missing or\n",
        "failed, one left by other settings, a live function that differs from what\n",
        "the settings render, session keys missing from the store."
    ))]
    Status(StatusArgs),
    /// Delete the deployment's stacks, in the order AWS requires
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy destroy --settings deploy/prod.toml --dry-run\n",
        "  edge-auth-deploy destroy --settings deploy/prod.toml --empty-bucket\n\n",
        "The user pool (and its users) stays; the plan says how to remove it."
    ))]
    Destroy(DestroyArgs),
    /// Add a new session key and retire the old one; nobody is signed out
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy rotate-session-key --settings deploy/prod.toml --dry-run\n",
        "  edge-auth-deploy rotate-session-key --settings deploy/prod.toml\n",
        "  edge-auth-deploy rotate-session-key --settings deploy/prod.toml --now   # a leaked key"
    ))]
    RotateSessionKey(RotateArgs),
    /// End a user's sessions at the edge (the CloudFront Function's store)
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy revoke --settings deploy/prod.toml --user 0f1e2d3c-example --dry-run\n",
        "  edge-auth-deploy revoke --settings deploy/prod.toml --email alice@example.org --disable\n\n",
        "With Cognito it also signs the user out there (their refresh tokens end, so no\n",
        "silent sign-in starts a new session) and, with --disable, disables the account.\n",
        "With your own provider, end the user's sessions there too."
    ))]
    Revoke(RevokeArgs),
    /// Users of the deployment's Cognito user pool
    #[command(subcommand)]
    User(UserCommand),
    /// A branch's preview of a site of the table (`[sites.preview]`)
    #[command(subcommand)]
    Preview(PreviewCommand),
    /// Service tokens for machines, sent as Authorization: Bearer (`[tokens]`)
    #[command(subcommand)]
    Token(TokenCommand),
    /// A link that opens one page or folder for a guest until it expires (`[shares]`)
    #[command(
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        after_help = concat!(
            "Examples:\n",
            "  edge-auth-deploy share --settings deploy/prod.toml --path '/reports/q3/*' --ttl 24h\n",
            "  edge-auth-deploy share list --settings deploy/prod.toml\n",
            "  edge-auth-deploy share revoke --settings deploy/prod.toml --id Q2kxbGlua2NoZWNrAAAAAA\n\n",
            "The link is the only line on standard output. It opens the pattern (a folder ends\n",
            "with *) and nothing else; its groups are every group the rules name, so the path's\n",
            "rules let it through (a rule asking for a recent sign-in or a second factor does not)."
        )
    )]
    Share(ShareArgs),
    /// Print the deployer's IAM policy for these settings
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy policy --settings deploy/prod.toml > policy.json\n",
        "  edge-auth-deploy policy --settings deploy/prod.toml --explain\n",
        "  edge-auth-deploy policy --settings deploy/prod.toml --split"
    ))]
    Policy(PolicyArgs),
    /// What to enter at the pool's corporate identity providers (SAML entity id and ACS URL, OIDC redirect URI)
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy federation --settings deploy/prod.toml\n",
        "  edge-auth-deploy federation --settings deploy/prod.toml --offline\n",
        "  edge-auth-deploy federation --settings deploy/prod.toml --template > user-pool.yaml\n\n",
        "The SAML entity id holds the pool's id: read from the user-pool stack when it\n",
        "exists (a placeholder before the first deploy, or with --offline)."
    ))]
    Federation(FederationArgs),
    /// Print a shell completion script
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy completions bash > ~/.local/share/bash-completion/completions/edge-auth-deploy\n",
        "  edge-auth-deploy completions zsh > ~/.zfunc/_edge-auth-deploy"
    ))]
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Invite a user to the pool (Cognito e-mails a temporary password)
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy user add --settings deploy/prod.toml --email you@example.org --group admins"
    ))]
    Add(UserAddArgs),
}

#[derive(Debug, Subcommand)]
pub enum PreviewCommand {
    /// Put a branch's build at https://<branch>.<preview domain>/, behind the site's sign-in
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy preview upload --settings deploy/sites.toml --site api --branch feature-x --dir build/ --dry-run\n",
        "  edge-auth-deploy preview upload --settings deploy/sites.toml --site api --branch feature-x --dir build/\n\n",
        "The live site is not touched: the branch's files go under <branch>/ in the\n",
        "previews' bucket, and the function's store gets the branch's host."
    ))]
    Upload(PreviewUploadArgs),
    /// Take a branch's preview down: its host, then its files
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy preview remove --settings deploy/sites.toml --site api --branch feature-x"
    ))]
    Remove(PreviewArgs),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token (printed once, kept nowhere) with the groups it opens
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy token create --settings deploy/prod.toml --name ci-linkcheck --groups readers --ttl 30d\n",
        "  curl -H \"Authorization: Bearer $TOKEN\" https://docs.example.com/guide/\n\n",
        "The token is the only line on standard output; what it is goes to standard error.\n",
        "A session key rotation retires the key that signed it after the longest session:\n",
        "mint tokens again after a rotation (with --now, at once)."
    ))]
    Create(TokenCreateArgs),
    /// The tokens' records: name, groups, site, times, and whether revoked
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy token list --settings deploy/prod.toml"
    ))]
    List(SettingsArg),
    /// End a token: refused at the edge within seconds
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy token revoke --settings deploy/prod.toml --id Q2kxbGlua2NoZWNrAAAAAA"
    ))]
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// What the token is for (shown by `token list` and in the logs' name)
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The groups it carries, comma-separated: rules decide with them
    #[arg(
        long,
        value_name = "GROUP[,GROUP]",
        value_delimiter = ',',
        required = true
    )]
    pub groups: Vec<String>,
    /// How long it lives: 30d, 12h, 90m (at most [tokens] max_ttl_days)
    #[arg(long, value_name = "TTL")]
    pub ttl: String,
    /// With [[sites]]: the site it opens (and its sign-in group's sites)
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// Print what would be done and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `share`: make a link, or (a subcommand) list or revoke them.
#[derive(Debug, Args)]
pub struct ShareArgs {
    #[command(subcommand)]
    pub command: Option<ShareCommand>,
    /// The environment's settings (deploy/<env>.toml)
    #[arg(long, value_name = "FILE", required = true)]
    pub settings: Option<PathBuf>,
    /// The page or folder it opens: /guide.html, /reports/q3/* (a folder ends with *)
    #[arg(long, value_name = "PATTERN", required = true)]
    pub path: Option<String>,
    /// How long it lasts: 24h, 7d, 90m (at most [shares] max_ttl_days)
    #[arg(long, value_name = "TTL", required = true)]
    pub ttl: Option<String>,
    /// With [[sites]]: the site it opens
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// Print what would be done and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum ShareCommand {
    /// The links' records: pattern, site, times, and whether revoked
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy share list --settings deploy/prod.toml"
    ))]
    List(SettingsArg),
    /// End a link (made here or on the share page): refused at the edge within seconds
    #[command(after_help = concat!(
        "Examples:\n",
        "  edge-auth-deploy share revoke --settings deploy/prod.toml --id Q2kxbGlua2NoZWNrAAAAAA"
    ))]
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// The id (`token list`, `share list`, or the share page's log line)
    #[arg(long, value_name = "ID")]
    pub id: String,
    /// Print what would be done and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Which branch's preview of which site.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// The site (its `[[sites]]` name), which has `[sites.preview]`
    #[arg(long, value_name = "NAME")]
    pub site: String,
    /// The branch: 1 to 63 lower-case letters, digits and inner `-` (the preview host's first label)
    #[arg(long, value_name = "BRANCH", value_parser = parse_branch)]
    pub branch: String,
    /// Print what would be done and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PreviewUploadArgs {
    #[command(flatten)]
    pub preview: PreviewArgs,
    /// The branch's build: the folder served at the preview's root (it needs an index.html)
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
}

/// A branch name as a preview host's first label.
fn parse_branch(value: &str) -> Result<String, String> {
    if edge_auth_core::sites::is_branch(value) {
        Ok(value.to_owned())
    } else {
        Err("1 to 63 lower-case letters, digits and inner `-` (it is the preview host's first label: name branches such as feature/x as feature-x)".into())
    }
}

#[derive(Debug, Args)]
pub struct FederationArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// Make no AWS call (the pool's id stays a placeholder)
    #[arg(long)]
    pub offline: bool,
    /// Print the user-pool template with the providers, as the deploy renders it
    #[arg(long)]
    pub template: bool,
    /// The SAM templates (with --template)
    #[arg(long, value_name = "DIR", default_value = "sam")]
    pub templates: PathBuf,
}

/// The settings file every command reads.
#[derive(Debug, Args)]
pub struct SettingsArg {
    /// The environment's settings (deploy/<env>.toml)
    #[arg(long, value_name = "FILE")]
    pub settings: PathBuf,
}

/// Where the packages and templates come from, and where the run stages
/// its copies.
#[derive(Debug, Args, Clone)]
pub struct Artifacts {
    /// The edge packages (scripts/package.py)
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub packages: PathBuf,
    /// The regional packages (scripts/package.py --regional) [default: PACKAGES/regional]
    #[arg(long, value_name = "DIR")]
    pub regional_packages: Option<PathBuf>,
    /// The SAM templates
    #[arg(long, value_name = "DIR", default_value = "sam")]
    pub templates: PathBuf,
    /// Where the run stages templates and configured packages
    #[arg(long, value_name = "DIR", default_value = ".edge-auth-deploy")]
    pub work: PathBuf,
}

impl Artifacts {
    pub fn regional_packages(&self) -> PathBuf {
        self.regional_packages
            .clone()
            .unwrap_or_else(|| self.packages.join("regional"))
    }
}

/// `--dry-run [--offline]`.
#[derive(Debug, Args, Clone, Copy)]
pub struct DryRun {
    /// Print what would be done and change nothing (reads the account when credentials are found)
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: make no AWS call at all
    #[arg(long, requires = "dry_run")]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    #[command(flatten)]
    pub dry_run: DryRun,
    #[command(flatten)]
    pub artifacts: Artifacts,
    /// Skip the check of the live site that ends every deploy (`check --live`)
    #[arg(long)]
    pub no_check: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// Make no AWS call at all: the commands are a first deploy's
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub artifacts: Artifacts,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    #[command(flatten)]
    pub artifacts: Artifacts,
    /// Check the deployed site from outside (its addresses from the stacks)
    #[arg(long)]
    pub live: bool,
    /// Check the site at this address instead (the local stack's, say)
    #[arg(long, value_name = "URL", conflicts_with = "live")]
    pub url: Option<String>,
    /// With --url: the provider's discovery document, whose authorization
    /// endpoint the sign-in start must send to
    #[arg(long, value_name = "URL", requires = "url")]
    pub discovery: Option<String>,
    /// With --url: the client id the sign-in start must send
    #[arg(long, value_name = "ID", requires = "url")]
    pub client_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    #[command(flatten)]
    pub dry_run: DryRun,
    /// Also delete every version in the site bucket, then the bucket
    #[arg(long)]
    pub empty_bucket: bool,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// A leaked key: one new key replaces every key at once; everyone signs in again
    #[arg(long)]
    pub now: bool,
    #[command(flatten)]
    pub dry_run: DryRun,
    #[command(flatten)]
    pub artifacts: Artifacts,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["user", "email", "username"])))]
pub struct RevokeArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// The provider's `sub` claim of the user whose sessions end
    #[arg(long, value_name = "SUB", value_parser = parse_sub)]
    pub user: Option<String>,
    /// The user by e-mail address (the Cognito pool; looked up with ListUsers)
    #[arg(long, value_name = "ADDRESS", value_parser = parse_lookup_email)]
    pub email: Option<String>,
    /// The user by the pool's user name (the Cognito pool)
    #[arg(long, value_name = "NAME", value_parser = parse_lookup)]
    pub username: Option<String>,
    /// With Cognito: also disable the account, so that nobody signs in as the user again
    #[arg(long)]
    pub disable: bool,
    /// Print what would be written and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// The address Cognito sends the invitation to
    #[arg(long, value_name = "ADDRESS", value_parser = parse_email)]
    pub email: String,
    /// A group of the pool to put the user in (e.g. the admin group)
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    #[command(flatten)]
    pub dry_run: DryRun,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// Print, as JSON, the policy with what it is built from and what it leaves out
    #[arg(long, conflicts_with = "split")]
    pub explain: bool,
    /// Print the policy as a JSON list of documents of at most 6,144 characters each, to attach as customer managed policies (for settings whose policy is over IAM's 10,240 for a role's inline policies)
    #[arg(long)]
    pub split: bool,
}

/// A provider's `sub`: what the store's key has room for (its keys are at
/// most 512 bytes), and nothing a log line could be forged with.
fn parse_sub(value: &str) -> Result<String, String> {
    if value.is_empty() {
        Err("empty: the provider's `sub` claim of the user".into())
    } else if value.len() > 400 || value.chars().any(char::is_control) {
        Err("a provider's `sub`, at most 400 bytes, no control characters".into())
    } else {
        Ok(value.to_owned())
    }
}

/// A value for ListUsers' filter (`attribute = "value"`): no quote or
/// backslash, which the filter would read as its own.
fn parse_lookup(value: &str) -> Result<String, String> {
    if value.is_empty()
        || value.len() > 256
        || value.contains(['"', '\\'])
        || value.chars().any(char::is_control)
    {
        Err("at most 256 characters, no quote, backslash or control character".into())
    } else {
        Ok(value.to_owned())
    }
}

fn parse_lookup_email(value: &str) -> Result<String, String> {
    parse_lookup(value).and_then(|v| parse_email(&v))
}

/// Cognito's own check is stricter; this catches a mistyped option before
/// any call.
fn parse_email(value: &str) -> Result<String, String> {
    let (local, domain) = value.split_once('@').unwrap_or(("", ""));
    if local.is_empty() || !domain.contains('.') || value.contains(char::is_whitespace) {
        Err("not an e-mail address".into())
    } else {
        Ok(value.to_owned())
    }
}

/// The first argument names the command; an option there instead (the
/// tool's first releases took `--settings F [--dry-run]` alone) means
/// `deploy`, so scripts written for them keep working.
pub fn with_default_command(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    let first = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
    let asks_the_tool = matches!(first, "-h" | "--help" | "-V" | "--version");
    if first.starts_with('-') && !asks_the_tool {
        args.insert(1, "deploy".into());
    }
    args
}

/// Parses a whole command line (program name first).
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    Cli::try_parse_from(with_default_command(args.into_iter().map(Into::into)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        parse_from(line.split_whitespace())
    }

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_alone_mean_deploy() {
        let cli = parse("edge-auth-deploy --settings s.toml --dry-run --offline").unwrap();
        let Command::Deploy(args) = cli.command else {
            panic!("not deploy: {cli:?}")
        };
        assert!(args.dry_run.dry_run && args.dry_run.offline);
        assert_eq!(args.artifacts.packages, PathBuf::from("dist"));
        assert_eq!(
            args.artifacts.regional_packages(),
            PathBuf::from("dist/regional")
        );
    }

    #[test]
    fn refusals_are_usage_errors() {
        for (line, kind) in [
            (
                "edge-auth-deploy deploy",
                ErrorKind::MissingRequiredArgument,
            ),
            (
                "edge-auth-deploy deploy --settings s --offline",
                ErrorKind::MissingRequiredArgument,
            ),
            (
                "edge-auth-deploy revoke --settings s",
                ErrorKind::MissingRequiredArgument,
            ),
            (
                "edge-auth-deploy destory --settings s",
                ErrorKind::InvalidSubcommand,
            ),
            (
                "edge-auth-deploy policy --settings s --empty-bucket",
                ErrorKind::UnknownArgument,
            ),
            (
                "edge-auth-deploy user add --settings s --email nobody",
                ErrorKind::ValueValidation,
            ),
            (
                "edge-auth-deploy user remove --settings s",
                ErrorKind::InvalidSubcommand,
            ),
            ("edge-auth-deploy completions tcsh", ErrorKind::InvalidValue),
            (
                "edge-auth-deploy revoke --settings s --user a --email a@example.org",
                ErrorKind::ArgumentConflict,
            ),
            (
                "edge-auth-deploy revoke --settings s --username a\"b",
                ErrorKind::ValueValidation,
            ),
        ] {
            let err = parse(line).expect_err(line);
            assert_eq!(err.kind(), kind, "{line}: {err}");
            assert_eq!(err.exit_code(), i32::from(EXIT_REFUSED), "{line}");
        }
        let long = format!(
            "edge-auth-deploy revoke --settings s --user {}",
            "x".repeat(401)
        );
        assert_eq!(parse(&long).unwrap_err().kind(), ErrorKind::ValueValidation);
        let control = [
            "edge-auth-deploy",
            "revoke",
            "--settings",
            "s",
            "--user",
            "a\nb",
        ];
        assert_eq!(
            parse_from(control).unwrap_err().kind(),
            ErrorKind::ValueValidation
        );
    }

    #[test]
    fn a_typo_gets_a_suggestion() {
        let err = parse("edge-auth-deploy destory --settings s").unwrap_err();
        assert!(err.to_string().contains("destroy"), "{err}");
        let err = parse("edge-auth-deploy deploy --settings s --dryrun").unwrap_err();
        assert!(err.to_string().contains("--dry-run"), "{err}");
    }

    /// Every command's help shows examples, and each example parses.
    #[test]
    fn every_example_parses() {
        let mut seen = 0;
        let mut cli = Cli::command();
        cli.build();
        let mut commands: Vec<clap::Command> = cli.get_subcommands().cloned().collect();
        while let Some(command) = commands.pop() {
            // clap's own `help` lists every command again, without examples.
            if command.get_name() == "help" {
                continue;
            }
            commands.extend(command.get_subcommands().cloned());
            if command.has_subcommands() {
                continue;
            }
            let help = command
                .get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default();
            let examples: Vec<&str> = help
                .lines()
                .filter_map(|l| l.trim().strip_prefix("edge-auth-deploy "))
                .collect();
            assert!(
                !examples.is_empty(),
                "{} has no examples",
                command.get_name()
            );
            for example in examples {
                let line = example.split(['#', '>']).next().unwrap_or_default();
                parse(&format!("edge-auth-deploy {line}"))
                    .unwrap_or_else(|e| panic!("`{line}` in {}'s help: {e}", command.get_name()));
                seen += 1;
            }
        }
        assert!(seen >= 12, "{seen} examples");
    }
}
