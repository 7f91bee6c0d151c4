//! A request id is quoted in log lines, spans, error details and replies:
//! one a caller sends is kept only if it is 1–128 characters of
//! `A-Z a-z 0-9 . _ : -`. Any other is dropped so the server makes a fresh
//! one — no caller can forge log fields (`x-request-id: a trace_id=…`) or
//! make every line about it 3 KB longer.

use http::Request;

use crate::server::REQUEST_ID_HEADER;

/// The longest request id kept.
pub const MAX_LEN: usize = 128;

pub fn acceptable(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Drops an unacceptable `x-request-id` (a fresh one is set after).
pub fn sanitize<B>(mut request: Request<B>) -> Request<B> {
    let bad = request.headers().get_all(REQUEST_ID_HEADER).iter().count() > 1
        || request.headers().get(REQUEST_ID_HEADER).is_some_and(|v| !acceptable(v.as_bytes()));
    if bad {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_ids_are_kept() {
        for good in ["req-42", "0af7651916cd43dd8448eb211c80319c", "a.b_c:d-e", &"x".repeat(128)] {
            let r = sanitize(Request::builder().header(REQUEST_ID_HEADER, good).body(()).unwrap());
            assert_eq!(r.headers()[REQUEST_ID_HEADER], good);
        }
        for bad in ["evil trace_id=deadbeef level=ERROR", "", &"x".repeat(129), "a\"b", "ünï"] {
            let r = sanitize(Request::builder().header(REQUEST_ID_HEADER, bad.as_bytes()).body(()).unwrap());
            assert!(r.headers().get(REQUEST_ID_HEADER).is_none(), "{bad:?}");
        }
        let two = Request::builder().header(REQUEST_ID_HEADER, "a").header(REQUEST_ID_HEADER, "b").body(()).unwrap();
        assert!(sanitize(two).headers().get(REQUEST_ID_HEADER).is_none());
    }
}
