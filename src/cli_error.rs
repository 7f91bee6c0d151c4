//! What a failed command prints: a sentence saying what failed, which
//! field or row, and what to do next — not the gRPC status's debug form.
//! `--verbose` adds the status itself (code, message, request id).

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The message for a failed command, its context first ("reading
/// sheet.csv: …"), then what the service said and what to do.
pub fn explain(e: &anyhow::Error, verbose: bool) -> String {
    let Some(status) = e.chain().find_map(|c| c.downcast_ref::<Status>()) else {
        return format!("{e:#}");
    };
    // The contexts above the status ("cannot reach …", "reading …").
    let contexts: Vec<String> = e
        .chain()
        .take_while(|c| c.downcast_ref::<Status>().is_none())
        .map(ToString::to_string)
        .filter(|c| !c.is_empty())
        .collect();
    let mut out = String::new();
    if !contexts.is_empty() {
        out.push_str(&contexts.join(": "));
        out.push_str(": ");
    }
    out.push_str(&sentence(status));
    let details = status.get_error_details();
    if let Some(bad) = details.bad_request() {
        for v in &bad.field_violations {
            out.push_str(&format!("\n  - {}: {}", v.field, v.description));
        }
    }
    if let Some(advice) = advice(status.code()) {
        out.push('\n');
        out.push_str(advice);
    }
    if verbose {
        let id = status.metadata().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("none");
        out.push_str(&format!(
            "\n  gRPC status: {:?} ({}), message: {:?}, request id: {id}",
            status.code(),
            i32::from(status.code()),
            status.message()
        ));
        if let Some(info) = details.error_info() {
            out.push_str(&format!(", reason: {}", info.reason));
        }
    }
    out
}

/// What happened, in a sentence.
fn sentence(status: &Status) -> String {
    let m = status.message().trim_end_matches('.');
    match status.code() {
        Code::InvalidArgument | Code::OutOfRange => format!("the request was refused: {m}."),
        Code::Unauthenticated => format!("you are not signed in: {m}."),
        Code::PermissionDenied => format!("not allowed: {m}."),
        Code::NotFound => format!("not found: {m}."),
        Code::AlreadyExists => format!("already done: {m}."),
        Code::FailedPrecondition => format!("not possible now: {m}."),
        Code::Aborted => format!("someone changed it meanwhile: {m}."),
        Code::ResourceExhausted => format!("too much at once: {m}."),
        Code::Unavailable => format!("the service is unavailable: {m}."),
        Code::DeadlineExceeded => format!("no answer in time: {m}."),
        Code::Unimplemented => format!("the server does not offer this: {m}."),
        Code::Internal | Code::Unknown | Code::DataLoss => {
            let id = status.metadata().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("none");
            format!("the server failed ({m}); this is a bug: report it with request id {id}.")
        }
        Code::Cancelled | Code::Ok => format!("the call ended early: {m}."),
    }
}

/// What to do about it.
fn advice(code: Code) -> Option<&'static str> {
    Some(match code {
        Code::InvalidArgument | Code::OutOfRange => "Correct what is named above and run the command again.",
        Code::Unauthenticated => {
            "Pass a valid token with --token (on a laptop: `attain token --role admin --person you`)."
        }
        Code::PermissionDenied => "Use a token whose unit covers it, or ask an administrator.",
        Code::NotFound => "Check the name (for example units/rep-1 or plans/fy2024/reviews/…).",
        Code::AlreadyExists => "Nothing more was stored; to make another, use a new request id.",
        Code::Aborted => "Read it again and retry.",
        Code::ResourceExhausted => "Wait a moment and retry, or send smaller batches.",
        Code::Unavailable | Code::DeadlineExceeded => {
            "Check that the suite is running (`attain up`) and that --gateway points at it, then retry."
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, StatusExt};

    #[test]
    fn invalid_input_names_the_field_and_what_to_do() {
        let mut details = ErrorDetails::new();
        details.add_bad_request_violation("rows[2].amount", "\"lots\" is not a plain decimal number");
        let status = Status::with_error_details(Code::InvalidArgument, "1 row refused", details);
        let e = anyhow::Error::new(status).context("importing january.csv");
        let text = explain(&e, false);
        assert_eq!(
            text,
            "importing january.csv: the request was refused: 1 row refused.\n  - rows[2].amount: \"lots\" is not a plain decimal number\nCorrect what is named above and run the command again."
        );
        assert!(!text.contains("InvalidArgument") && !text.contains("Status {"), "{text}");
        let verbose = explain(&e, true);
        assert!(verbose.contains("gRPC status: InvalidArgument (3)"), "{verbose}");
    }

    #[test]
    fn every_code_reads_as_a_sentence() {
        for code in [
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::NotFound,
            Code::AlreadyExists,
            Code::FailedPrecondition,
            Code::Aborted,
            Code::Unavailable,
            Code::Internal,
        ] {
            let text = explain(&anyhow::Error::new(Status::new(code, "plans/fy2024 is CLOSED")), false);
            // A server fault shows its message in parentheses.
            assert!(text.contains("plans/fy2024 is CLOSED"), "{code:?}: {text}");
            assert!(!text.contains(&format!("{code:?}")), "{code:?}: {text}");
        }
        let plain = anyhow::anyhow!("cannot read sheet.csv");
        assert_eq!(explain(&plain, false), "cannot read sheet.csv");
    }
}
