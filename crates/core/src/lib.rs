//! edge-auth core: every authorization decision, and nothing else.
//!
//! Functions here take a CloudFront request, the [`Config`], the current time
//! and a source of randomness, and return what to do: forward the request,
//! answer with a generated response, or make one call to the identity
//! provider and then turn its answer into a response ([`Step`]). No function
//! here reads a clock, a file, the network or the environment, so the same
//! code runs in the Lambda binaries, the Node.js addon, the local emulator
//! and the tests, and every path can be driven deterministically.

pub mod authorize;
pub mod cloudfront_function;
pub mod config;
pub mod cookies;
pub mod crypto;
pub mod event;
pub mod exchange;
pub mod flow;
pub mod function_probe;
pub mod groups;
pub mod index_path;
#[cfg(feature = "site")]
pub mod mime;
pub mod pages;
pub mod paths;
pub mod provider;
pub mod query;
pub mod refresh;
pub mod return_path;
pub mod routing;
pub mod session;
pub mod share;
pub mod share_page;
pub mod signin;
pub mod signout;
pub mod sites;
pub mod token;

pub use config::{Config, ConfigError};
pub use event::{CloudFrontRequest, CloudFrontResponse, DistributionConfig, HandlerOutput};
pub use provider::{ClientCredentials, ProviderCall, ProviderOutcome};

/// A source of random bytes (the system's in production, a fixed one in tests).
pub trait Entropy {
    fn fill(&mut self, dest: &mut [u8]);
}

/// The operating system's random number generator.
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn fill(&mut self, dest: &mut [u8]) {
        // Failure here means the OS has no randomness to give, which nothing
        // sensible can recover from; a sign-in with predictable state is worse.
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), dest)
            .expect("the system random number generator failed");
    }
}

/// A decision and a short, secret-free account of why, for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub output: HandlerOutput,
    /// A fixed label such as `signin-started` or `forbidden`.
    pub event: &'static str,
    /// Extra context (error kinds, paths): never a token, code or secret.
    pub detail: Option<String>,
    /// As common as a page view (a request let through, a first visit sent
    /// to sign in): logged at debug, since CloudFront's access logs see them
    /// all and a line each would fill CloudWatch.
    pub routine: bool,
    /// The session the decision was about, where one was known: its
    /// pseudonymous ids for an audit line, never a cookie or a name.
    pub session: Option<Subject>,
    /// Sessions the driver must end at the edge after answering: sign-out
    /// asks for `revoked:<sub>` in the function's key value store, raised
    /// to `up_to` (never lowered), which every verifier already reads.
    /// Boxed: rare, and `Outcome` travels in every `Step`.
    pub revocation: Option<Box<Revocation>>,
}

/// Every session of `sub` issued at or before `up_to` (seconds) is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub sub: String,
    pub up_to: u64,
}

/// A session's `sub` (the provider's id for the user) and `sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub sub: String,
    pub sid: String,
}

impl Outcome {
    pub fn respond(response: CloudFrontResponse, event: &'static str) -> Self {
        Self {
            output: HandlerOutput::Respond(response),
            event,
            detail: None,
            routine: false,
            session: None,
            revocation: None,
        }
    }
    pub fn forward(request: CloudFrontRequest, event: &'static str) -> Self {
        Self {
            output: HandlerOutput::Forward(request),
            event,
            detail: None,
            routine: true,
            session: None,
            revocation: None,
        }
    }
    /// Marks a generated answer as routine (see [`Outcome::routine`]).
    pub fn routine(mut self) -> Self {
        self.routine = true;
        self
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    pub fn for_session(mut self, subject: Subject) -> Self {
        self.session = Some(subject);
        self
    }
    /// The HTTP status of a generated response, or `None` when forwarding.
    pub fn status(&self) -> Option<&str> {
        match &self.output {
            HandlerOutput::Respond(r) => Some(&r.status),
            HandlerOutput::Forward(_) => None,
        }
    }
}

/// For signin, refresh and signout: either the answer is known now, or one
/// provider call must be made and its outcome handed back with `pending`.
#[derive(Debug)]
pub enum Step<P> {
    Done(Outcome),
    Call { call: ProviderCall, pending: P },
}
