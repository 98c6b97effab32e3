//! `edge-auth-deploy`: parses the command line (`cli`) and hands the
//! command to its module under `commands/`; the exit status is
//! `cli::EXIT_CODES`'.

use std::process::ExitCode;

use clap::CommandFactory;
use edge_auth_deploy::cli::{self, Command};
use edge_auth_deploy::commands;

#[tokio::main]
async fn main() -> ExitCode {
    // `edge-auth-deploy plan | head` ends quietly, as other command line
    // tools do, rather than panic on the closed pipe.
    #[cfg(unix)]
    // SAFETY: restores the default action before any thread writes output.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        // --help and --version are "errors" that print to stdout and exit 0.
        Err(e) => e.exit(),
    };
    let outcome = match &cli.command {
        Command::Deploy(args) => commands::deploy::main(args).await,
        Command::Plan(args) => commands::plan::main(args).await,
        Command::Check(args) => commands::check::main(args).await,
        Command::Status(args) => commands::status::main(args).await,
        Command::Destroy(args) => commands::destroy::main(args).await,
        Command::RotateSessionKey(args) => commands::rotate::main(args).await,
        Command::Revoke(args) => commands::revoke::main(args).await,
        Command::User(command) => commands::user::main(command).await,
        Command::Preview(command) => commands::preview::main(command).await,
        Command::Token(command) => commands::token::main(command).await,
        Command::Share(args) => commands::share::main(args).await,
        Command::Policy(args) => commands::policy::main(args),
        Command::Federation(args) => commands::federation::main(args).await,
        Command::Completions { shell } => {
            let mut command = cli::Cli::command();
            clap_complete::generate(
                *shell,
                &mut command,
                "edge-auth-deploy",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edge-auth-deploy: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
