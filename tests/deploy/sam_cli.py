"""SAM CLI's own `sam deploy` option parser (aws-sam-cli, pinned in
scripts/setup-python.sh), used without deploying anything: the click command
parses the words and converts every option with SAM's own types
(CfnParameterOverridesType, CfnTags), which is where a malformed
`--parameter-overrides` word is refused."""

import os

os.environ.setdefault("SAM_CLI_TELEMETRY", "0")

import click  # noqa: E402
from samcli.cli.context import Context  # noqa: E402
from samcli.commands.deploy.command import cli as _deploy  # noqa: E402


class Refused(Exception):
    """SAM CLI would stop with this usage error before doing anything."""


def parse_deploy(argv):
    """The options `sam deploy` takes from `argv` (the program name and the
    subcommand first), as SAM's click command converts them, with `region`. Raises Refused
    with SAM's own message when SAM would refuse the command line. The
    template named by --template-file must exist (SAM reads it while
    parsing)."""
    if list(argv[:2]) != ["sam", "deploy"]:
        raise Refused(f"not a sam deploy command: {argv[:2]}")
    try:
        ctx = _deploy.make_context("deploy", list(argv[2:]))
    except click.UsageError as e:
        raise Refused(e.format_message()) from e
    # --region and --profile are SAM's global options: they go to its
    # context object, not to the command's parameters.
    params = dict(ctx.params)
    state = ctx.find_object(Context)
    params["region"] = state.region if state else None
    return params
