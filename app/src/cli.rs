//! The `concord` command line: `patch`, `merge-patch` and `diff`.
//!
//! [`Cli`] is the parsed command line (clap derive). [`run`] does the work and returns the text
//! to print, or a [`CliError`] that knows its exit code; [`main`] wires both to the process's
//! standard streams.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use clap::builder::{OsStringValueParser, TypedValueParser as _};
use clap::{Args, Parser, Subcommand};
use sync_core::value::Style;
use sync_core::{Change, Value, diff, merge};

const LONG_ABOUT: &str = "\
Apply, make and compare JSON Patches (RFC 6902) and JSON Merge Patches (RFC 7396).

Documents are read exactly as written: numbers keep their spelling (1.10, 1e400 and \
12345678901234567890123 stay as they are), objects keep their member order, and duplicate keys \
are refused.

Every file argument may be '-' for standard input; at most one argument of a command may be '-'.

Output is indented as the input document is (tabs, four spaces; two spaces for one on a single \
line), or on one line with --compact, and ends with a newline.";

const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  the patch does not apply, or no merge patch can express the difference
     (nothing is written to standard output)
  2  bad usage, an unreadable file, or input that is not JSON or not a valid patch";

const PATCH_OPS: &str = "\
Operations: RFC 6902's add, remove, replace, move, copy and test, and Concord's extensions:
  {\"op\": \"merge\", \"path\": P, \"value\": V}
      apply the RFC 7396 merge patch V to the value at P
  {\"op\": \"splice\", \"path\": P, \"pos\": N, \"del\": N, \"ins\": S}
      in the string at P, at character pos delete del characters and insert S
  {\"op\": \"incr\", \"path\": P, \"by\": N}
      add the number N to the number at P
and an optional \"index\" on add and move: the position a new object member takes.";

/// The `concord` command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "concord",
    version,
    about = "Edit JSON (`concord [FILE]` opens the editor); apply, make and compare JSON patches, losslessly",
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub options: GlobalOptions,
    /// What to do.
    #[command(subcommand)]
    pub tool: Tool,
}

/// Options shared by every command.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct GlobalOptions {
    /// Write the output on one line instead of indented.
    #[arg(long, global = true)]
    pub compact: bool,
}

/// A subcommand.
#[derive(Debug, Clone, Subcommand)]
pub enum Tool {
    /// Print DOC with the JSON Patch PATCH applied.
    ///
    /// PATCH is a JSON array of operations (RFC 6902), applied atomically: if one fails, nothing
    /// is printed, the error names the operation (counted from 0), and the exit status is 1.
    #[command(after_help = EXIT_CODES, after_long_help = format!("{PATCH_OPS}\n\n{EXIT_CODES}"))]
    Patch {
        /// The document: a JSON file, or '-' for standard input.
        #[arg(value_name = "DOC", value_parser = input_parser())]
        doc: Input,
        /// The patch: a JSON array of operations, or '-' for standard input.
        #[arg(value_name = "PATCH", value_parser = input_parser())]
        patch: Input,
    },
    /// Print DOC with the JSON Merge Patch MERGE applied.
    ///
    /// MERGE mirrors the document's shape (RFC 7396): its members are set, its null members are
    /// removed, and arrays and other values replace what was there whole.
    #[command(after_help = EXIT_CODES)]
    MergePatch {
        /// The document: a JSON file, or '-' for standard input.
        #[arg(value_name = "DOC", value_parser = input_parser())]
        doc: Input,
        /// The merge patch: a JSON file, or '-' for standard input.
        #[arg(value_name = "MERGE", value_parser = input_parser())]
        merge: Input,
    },
    /// Print a patch that turns A into B.
    ///
    /// By default the patch is a JSON Patch (RFC 6902) with its six standard operations only, so
    /// any JSON Patch tool can apply it. With --extended it may also use Concord's extensions
    /// (splice for string edits, positions for new members), which makes it smaller. With
    /// --merge it is a JSON Merge Patch (RFC 7396) instead; a merge patch cannot set a member to
    /// null, so a B that does fails with exit status 1.
    #[command(after_help = EXIT_CODES, after_long_help = format!("{PATCH_OPS}\n\n{EXIT_CODES}"))]
    Diff {
        /// The document before: a JSON file, or '-' for standard input.
        #[arg(value_name = "A", value_parser = input_parser())]
        a: Input,
        /// The document after: a JSON file, or '-' for standard input.
        #[arg(value_name = "B", value_parser = input_parser())]
        b: Input,
        /// Print an RFC 7396 merge patch instead of a JSON Patch.
        #[arg(long, conflicts_with = "extended")]
        merge: bool,
        /// Allow Concord's extension operations (splice, and positions on add).
        #[arg(long)]
        extended: bool,
    },
}

impl Tool {
    /// The command's two inputs, with the names their arguments have in the help.
    pub fn inputs(&self) -> [(&'static str, &Input); 2] {
        match self {
            Tool::Patch { doc, patch } => [("DOC", doc), ("PATCH", patch)],
            Tool::MergePatch { doc, merge } => [("DOC", doc), ("MERGE", merge)],
            Tool::Diff { a, b, .. } => [("A", a), ("B", b)],
        }
    }
}

/// Where an input comes from: a file, or standard input (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input, named `-` on the command line.
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Input {
    /// The name used in messages: the path as given, or `<stdin>`.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_owned(),
            Input::File(path) => path.display().to_string(),
        }
    }

    /// Reads the whole input.
    fn read(&self, stdin: &mut dyn Read) -> Result<Vec<u8>, CliError> {
        let bytes = match self {
            Input::Stdin => {
                let mut bytes = Vec::new();
                stdin.read_to_end(&mut bytes).map(|_| bytes)
            }
            Input::File(path) => std::fs::read(path),
        };
        bytes
            .with_context(|| format!("cannot read {}", self.name()))
            .map_err(CliError::Input)
    }
}

impl From<OsString> for Input {
    fn from(arg: OsString) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(arg))
        }
    }
}

fn input_parser() -> impl clap::builder::TypedValueParser<Value = Input> {
    OsStringValueParser::new().map(Input::from)
}

/// Why `concord` failed; decides the exit status.
#[derive(Debug)]
pub enum CliError {
    /// The command line is wrong in a way clap cannot check (exit status 2).
    Usage(String),
    /// An input cannot be read, is not JSON, or is not a valid patch (exit status 2).
    Input(anyhow::Error),
    /// The inputs are fine but the result does not exist: the patch does not apply, or no merge
    /// patch expresses the difference (exit status 1).
    Failed(anyhow::Error),
}

impl CliError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::Input(_) => 2,
            CliError::Failed(_) => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(message) => f.write_str(message),
            // `{:#}` writes anyhow's context chain on one line: "cannot read x: No such file".
            CliError::Input(error) | CliError::Failed(error) => write!(f, "{error:#}"),
        }
    }
}

impl std::error::Error for CliError {}

/// Runs the command and returns what it prints on standard output (ending with a newline).
///
/// `stdin` is read for an input given as `-`. Nothing is written anywhere: the caller prints the
/// result or the error (see [`main`]).
pub fn run(cli: &Cli, stdin: &mut dyn Read) -> Result<String, CliError> {
    let [(first_arg, first), (second_arg, second)] = cli.tool.inputs();
    if *first == Input::Stdin && *second == Input::Stdin {
        return Err(CliError::Usage(format!(
            "{first_arg} and {second_arg} cannot both be '-': only one input can come from \
             standard input"
        )));
    }
    let compact = cli.options.compact;
    // Compact if asked; otherwise indented as the input is (two spaces for a one-line input).
    let laid_out = |style: sync_core::value::Style| {
        use sync_core::value::Layout;
        let layout = match style.layout {
            _ if compact => Layout::Compact,
            Layout::Compact | Layout::Spaced => Layout::Spaces(2),
            indented => indented,
        };
        sync_core::value::Style { layout, ..style }
    };
    let mut out = match &cli.tool {
        Tool::Patch { doc, patch } => {
            let (mut doc, style) = read_document(doc, stdin)?;
            let change = read_patch(patch, stdin)?;
            change
                .apply(&mut doc)
                .map_err(|e| CliError::Failed(e.into()))?;
            doc.to_json_as(laid_out(style))
        }
        Tool::MergePatch { doc, merge } => {
            let (doc, style) = read_document(doc, stdin)?;
            let (patch, _) = read_document(merge, stdin)?;
            merge::merged(doc, &patch).to_json_as(laid_out(style))
        }
        Tool::Diff {
            a,
            b,
            merge,
            extended,
        } => {
            let (a, _) = read_document(a, stdin)?;
            let (b, style) = read_document(b, stdin)?;
            if *merge {
                let patch = merge::diff(&a, &b).map_err(|e| CliError::Failed(e.into()))?;
                patch.to_json_as(laid_out(style))
            } else {
                let change = if *extended {
                    diff::diff(&a, &b)
                } else {
                    diff::diff_rfc6902(&a, &b)
                };
                if compact {
                    change.to_json()
                } else {
                    change.to_json_pretty()
                }
            }
        }
    };
    out.push('\n');
    Ok(out)
}

/// Runs the command with the process's standard streams and returns the exit status.
///
/// Prints the result with one write to standard output, or the error to standard error as
/// `concord: ...`. A closed standard output (as with `concord ... | head`) is not an error.
pub fn main(cli: &Cli) -> ExitCode {
    let result = run(cli, &mut io::stdin().lock());
    let error = match result {
        Ok(text) => match write_stdout(text.as_bytes()) {
            Ok(()) => return ExitCode::SUCCESS,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
            Err(e) => CliError::Failed(anyhow!(e).context("cannot write to standard output")),
        },
        Err(error) => error,
    };
    // If standard error is gone too, there is no one left to tell.
    let _ = writeln!(io::stderr().lock(), "concord: {error}");
    ExitCode::from(error.exit_code())
}

fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()
}

/// Reads and parses a JSON document losslessly, noting how its strings are escaped so that it
/// can be written back the same way.
fn read_document(input: &Input, stdin: &mut dyn Read) -> Result<(Value, Style), CliError> {
    let bytes = input.read(stdin)?;
    Value::parse_slice_styled(&bytes).map_err(|e| {
        CliError::Input(anyhow!(
            "{}:{}:{}: {}",
            input.name(),
            e.line,
            e.column,
            e.kind
        ))
    })
}

/// Reads and parses a patch document: a JSON array of operations.
fn read_patch(input: &Input, stdin: &mut dyn Read) -> Result<Change, CliError> {
    let bytes = input.read(stdin)?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let prefix = String::from_utf8_lossy(valid);
        let line = 1 + prefix.matches('\n').count();
        let column = 1 + prefix
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count();
        CliError::Input(anyhow!("{}:{line}:{column}: invalid UTF-8", input.name()))
    })?;
    Change::from_json(text).map_err(|e| CliError::Input(patch_error(&input.name(), text, &e)))
}

/// `NAME:LINE:COLUMN: message` for a patch `serde_json` refused, with the column counted in
/// characters like the document parser's (`serde_json` counts bytes).
fn patch_error(name: &str, text: &str, error: &serde_json::Error) -> anyhow::Error {
    let mut message = error.to_string();
    // serde_json's message ends with the position, which goes in front instead.
    let position = format!(" at line {} column {}", error.line(), error.column());
    if message.ends_with(&position) {
        message.truncate(message.len() - position.len());
    }
    if error.classify() == serde_json::error::Category::Data {
        message = format!("not a valid patch: {message}");
    }
    if error.line() == 0 {
        return anyhow!("{name}: {message}");
    }
    // For some errors serde_json gives the column before the offending character, 0 at most.
    let column = char_column(text, error.line(), error.column()).max(1);
    anyhow!("{name}:{}:{column}: {message}", error.line())
}

/// Converts a 1-based byte column on a 1-based line of `text` to a character column.
fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return byte_column;
    };
    // The column names the last byte read; count the character that byte belongs to.
    let mut end = byte_column.min(line_text.len());
    while !line_text.is_char_boundary(end) {
        end += 1;
    }
    line_text
        .get(..end)
        .map_or(byte_column, |s| s.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters() {
        assert_eq!(char_column("[1,\n\"é\", x]", 2, 7), 6);
        assert_eq!(char_column("abc", 1, 2), 2);
        assert_eq!(char_column("abc", 1, 0), 0);
        assert_eq!(char_column("abc", 3, 9), 9);
    }

    #[test]
    fn dash_means_stdin() {
        assert_eq!(Input::from(OsString::from("-")), Input::Stdin);
        assert_eq!(Input::from(OsString::from("-x")), Input::File("-x".into()));
        assert_eq!(Input::Stdin.name(), "<stdin>");
    }

    #[test]
    fn exit_codes_follow_the_error_kind() {
        assert_eq!(CliError::Usage(String::new()).exit_code(), 2);
        assert_eq!(CliError::Input(anyhow!("x")).exit_code(), 2);
        assert_eq!(CliError::Failed(anyhow!("x")).exit_code(), 1);
    }

    #[test]
    fn runs_without_a_process() {
        let cli = Cli::try_parse_from(["concord", "--compact", "merge-patch", "-", "/dev/null"]);
        let cli = cli.unwrap();
        let err = run(&cli, &mut &b"{}"[..]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().starts_with("/dev/null:1:1: unexpected end"),
            "{err}"
        );
    }
}
