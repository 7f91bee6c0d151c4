//! Cached dashboards go out as the bytes encoded when they were stored.
//! A hit then costs a reference count instead of a clone, an encode and a
//! drop of a message of a few thousand fields — what bounded the cached
//! dashboard's calls/s (malloc and free were a third of the gateway's CPU).
//!
//! The handler answers with an empty message carrying [`Encoded`] in the
//! response's extensions; [`SendEncoded`], wrapped around the generated
//! service, swaps the body for those bytes. Everything outside it (the
//! gRPC-Web translation, metrics, request ids) sees an ordinary reply.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{BufMut, Bytes, BytesMut};
use futures::TryFutureExt;
use http::{HeaderMap, HeaderValue};
use http_body::Frame;
use tonic::{body::Body, server::NamedService};

/// One message in gRPC's length-prefixed framing (uncompressed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded(Bytes);

impl Encoded {
    /// None for a message over 4 GiB, which the framing cannot carry.
    pub fn new(msg: &impl prost::Message) -> Option<Self> {
        let len = msg.encoded_len();
        let mut buf = BytesMut::with_capacity(5 + len);
        buf.put_u8(0);
        buf.put_u32(u32::try_from(len).ok()?);
        msg.encode(&mut buf).ok()?;
        Some(Self(buf.freeze()))
    }

    /// The message back (what a client would decode).
    pub fn decode<M: prost::Message + Default>(&self) -> Result<M, prost::DecodeError> {
        M::decode(self.0.get(5..).unwrap_or_default())
    }
}

/// Wraps a generated gRPC service: a reply carrying [`Encoded`] is sent as
/// those bytes.
#[derive(Debug, Clone)]
pub struct SendEncoded<S>(pub S);

impl<S: NamedService> NamedService for SendEncoded<S> {
    const NAME: &'static str = S::NAME;
}

type Reply = http::Response<Body>;

impl<S, B> tower::Service<http::Request<B>> for SendEncoded<S>
where
    S: tower::Service<http::Request<B>, Response = Reply>,
{
    type Response = Reply;
    type Error = S::Error;
    type Future = futures::future::MapOk<S::Future, fn(Reply) -> Reply>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        self.0.call(req).map_ok(swap_body as fn(Reply) -> Reply)
    }
}

fn swap_body(mut res: Reply) -> Reply {
    if let Some(Encoded(bytes)) = res.extensions_mut().remove::<Encoded>() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        *res.body_mut() = Body::new(Once { data: Some(bytes), trailers: Some(trailers) });
    }
    res
}

/// One data frame, then the trailers.
struct Once {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl http_body::Body for Once {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(d) = this.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }
}

#[cfg(test)]
mod tests {
    use attain_proto::attain::gateway::v1 as pb;
    use http_body_util::BodyExt;

    use super::*;

    #[test]
    fn framing_round_trips() {
        let d = pb::Dashboard { unit: "units/acme".into(), from_cache: true, ..Default::default() };
        let e = Encoded::new(&d).unwrap();
        assert_eq!(e.0[0], 0, "uncompressed");
        assert_eq!(usize::try_from(u32::from_be_bytes([e.0[1], e.0[2], e.0[3], e.0[4]])).unwrap(), e.0.len() - 5);
        assert_eq!(e.decode::<pb::Dashboard>().unwrap(), d);
    }

    #[tokio::test]
    async fn a_reply_carrying_bytes_sends_them_then_ok_trailers() {
        let e = Encoded::new(&pb::Dashboard { unit: "units/acme".into(), ..Default::default() }).unwrap();
        let mut res = http::Response::new(Body::empty());
        res.extensions_mut().insert(e.clone());
        let body = swap_body(res).into_body().collect().await.unwrap();
        let trailers = body.trailers().cloned().unwrap();
        assert_eq!(trailers.get("grpc-status").unwrap(), "0");
        assert_eq!(body.to_bytes(), e.0);

        // Without the extension the reply is left alone.
        let plain = swap_body(http::Response::new(Body::empty())).into_body().collect().await.unwrap();
        assert!(plain.to_bytes().is_empty());
    }
}
