//! A request body that is not the method's message is the caller's
//! error. tonic answers it INTERNAL ("failed to decode Protobuf message"),
//! which reads as a server fault — counted as one, and paging whoever is on
//! call, since INTERNAL is a bug. It is answered INVALID_ARGUMENT here,
//! inside the metrics and the span, so both see the caller's error. So is a
//! body that ended before any message ("Missing request message"): a
//! caller that sent none, or one that went away before sending it (a
//! gateway dropping its other calls once one section refused the caller).

use http::HeaderMap;

use crate::request_info::FinishReplyLayer;

/// Answers a request that could not be read INVALID_ARGUMENT.
pub const BAD_MESSAGE: FinishReplyLayer = FinishReplyLayer::new(retell);

fn retell(headers: &mut HeaderMap, _request_id: &str) {
    if headers.get("grpc-status").is_none_or(|v| v.as_bytes() != b"13") {
        return;
    }
    let Some(status) = tonic::Status::from_header_map(headers) else { return };
    let message = if status.message().starts_with("Missing request message") {
        "the request carried no message (none was sent, or the caller went away before sending it)".to_owned()
    } else {
        let Some(why) = status.message().strip_prefix("failed to decode Protobuf message") else { return };
        let why = why.trim_start_matches([':', ' ']);
        if why.is_empty() {
            "the request body is not this method's request message".to_owned()
        } else {
            format!("the request body is not this method's request message: {why}")
        }
    };
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        headers.remove(name);
    }
    if tonic::Status::from(crate::ServiceError::invalid("request", message)).add_header(headers).is_err() {
        tracing::warn!("a malformed request's status could not be rewritten");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_request_is_the_callers_error() {
        let mut headers = HeaderMap::new();
        let decode = tonic::Status::internal("failed to decode Protobuf message: buffer underflow");
        decode.add_header(&mut headers).unwrap();
        retell(&mut headers, "r");
        let back = tonic::Status::from_header_map(&headers).unwrap();
        assert_eq!(back.code(), tonic::Code::InvalidArgument);
        assert!(back.message().contains("not this method's request message: buffer underflow"), "{back:?}");

        let mut empty = HeaderMap::new();
        tonic::Status::internal("Missing request message.").add_header(&mut empty).unwrap();
        retell(&mut empty, "r");
        let back = tonic::Status::from_header_map(&empty).unwrap();
        assert_eq!(back.code(), tonic::Code::InvalidArgument);
        assert!(back.message().contains("carried no message"), "{back:?}");

        let mut bug = HeaderMap::new();
        tonic::Status::internal("a real bug").add_header(&mut bug).unwrap();
        retell(&mut bug, "r");
        assert_eq!(tonic::Status::from_header_map(&bug).unwrap().code(), tonic::Code::Internal, "left alone");
    }
}
